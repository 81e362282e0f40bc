// Training kernels against an independent f64 reference (test/reference/train-f64.ts):
// forward outputs directly, gradients against central differences of the reference.
//
// Tolerances: the reference gradient of these (piecewise) linear maps is exact to ~1e-9 with
// h = 1e-6 in f64; the kernels accumulate at most a few hundred f32 products of O(1) values,
// whose rounding error stays below ~1e-5 of the largest value. So forward checks use 1e-5 and
// gradient checks 1e-4 relative to the largest expected magnitude: a wrong index, a missed
// window cell or a wrong padding offset produces errors of order 1e-1 and fails.
import { describe, expect, test } from "vitest";
import { TrainKernels, windowGeometry } from "../../host/train/kernels.js";
import * as ref from "../reference/train-f64.js";
import { TRAIN_BUILDS_HERE, randomF32, expectClose } from "./helpers.js";

type Case = { name: string; n: number; h: number; w: number; c: number; k: [number, number]; s: [number, number]; pad: ref.Pad };

const CONV_CASES: (Case & { o: number })[] = [
  { name: "3x3 s1 same, C=3 O=5", n: 2, h: 6, w: 5, c: 3, o: 5, k: [3, 3], s: [1, 1], pad: "same" },
  { name: "3x3 s2 same (uneven pad), C=8 O=4", n: 1, h: 8, w: 8, c: 8, o: 4, k: [3, 3], s: [2, 2], pad: "same" },
  { name: "5x5 s2 valid, C=1 O=6", n: 2, h: 9, w: 11, c: 1, o: 6, k: [5, 5], s: [2, 2], pad: "valid" },
  { name: "5x5 s1 same, C=4 O=3", n: 1, h: 7, w: 6, c: 4, o: 3, k: [5, 5], s: [1, 1], pad: "same" },
  { name: "3x1 s(2,1) same, C=5 O=2", n: 1, h: 7, w: 4, c: 5, o: 2, k: [3, 1], s: [2, 1], pad: "same" },
];

const DW_CASES: (Case & { m: number })[] = [
  { name: "3x3 s1 same, C=6 M=1", n: 2, h: 5, w: 6, c: 6, m: 1, k: [3, 3], s: [1, 1], pad: "same" },
  { name: "3x3 s2 same, C=8 M=1", n: 1, h: 7, w: 7, c: 8, m: 1, k: [3, 3], s: [2, 2], pad: "same" },
  { name: "3x3 s2 valid, C=3 M=2", n: 1, h: 7, w: 6, c: 3, m: 2, k: [3, 3], s: [2, 2], pad: "valid" },
];

const POOL_CASES: (Case & { kind: "avg" | "max" })[] = [
  { name: "avg 2x2 s2 valid", kind: "avg", n: 2, h: 6, w: 6, c: 5, k: [2, 2], s: [2, 2], pad: "valid" },
  { name: "avg 3x3 s2 same (padding excluded)", kind: "avg", n: 1, h: 7, w: 6, c: 4, k: [3, 3], s: [2, 2], pad: "same" },
  { name: "max 2x2 s2 valid", kind: "max", n: 2, h: 6, w: 4, c: 3, k: [2, 2], s: [2, 2], pad: "valid" },
  { name: "max 3x3 s1 same", kind: "max", n: 1, h: 5, w: 5, c: 6, k: [3, 3], s: [1, 1], pad: "same" },
];

describe.each(TRAIN_BUILDS_HERE)("training kernels (%s build)", (build) => {
  test.each(CONV_CASES)("conv2d forward and gradients: $name", (cs) => {
    const K = new TrainKernels(build);
    const [kh, kw] = cs.k, [sh, sw] = cs.s;
    const g = windowGeometry(cs.n, cs.h, cs.w, cs.c, kh, kw, sh, sw, cs.pad);
    const x = randomF32(1, cs.n * cs.h * cs.w * cs.c), w = randomF32(2, cs.o * kh * kw * cs.c), b = randomF32(3, cs.o);
    const img = (d: Float64Array): ref.Img => ({ n: cs.n, h: cs.h, w: cs.w, c: cs.c, data: d });
    const yRef = ref.conv2d(img(x), w, b, cs.o, kh, kw, sh, sw, cs.pad);
    expect([g.oh, g.ow]).toEqual([yRef.h, yRef.w]);
    const ny = yRef.data.length;
    const blk = K.convBlock(g, cs.o);
    const xp = K.putF32(x), wp = K.putF32(w), bp = K.putF32(b), yp = K.allocF32(ny), sp = K.allocF32(w.length);
    K.k.conv2dForward(blk, xp, wp, bp, yp, sp);
    expectClose(K.f32(yp, ny), yRef.data, 1e-5, "y");

    const r = randomF32(4, ny);
    const dyp = K.putF32(r), dxp = K.allocF32(x.length), dwp = K.allocF32(w.length), dbp = K.allocF32(b.length);
    K.f32(dxp, x.length).fill(123); // dx must be overwritten, not accumulated
    K.f32(sp, w.length).fill(-5); // scratch contents must not leak into the gradient
    K.k.conv2dBackward(blk, xp, wp, dyp, dxp, dwp, dbp, sp);
    const loss = () => ref.project(ref.conv2d(img(x), w, b, cs.o, kh, kw, sh, sw, cs.pad).data, r);
    expectClose(K.f32(dxp, x.length), ref.numericGradient(loss, x), 1e-4, "dx");
    expectClose(K.f32(dwp, w.length), ref.numericGradient(loss, w), 1e-4, "dw");
    expectClose(K.f32(dbp, b.length), ref.numericGradient(loss, b), 1e-4, "db");
  });

  test("conv2d backward accumulates dw/db and can skip dx", () => {
    const K = new TrainKernels(build);
    const g = windowGeometry(1, 4, 4, 2, 3, 3, 1, 1, "same");
    const x = randomF32(5, 32), w = randomF32(6, 3 * 9 * 2), dy = randomF32(7, 48);
    const blk = K.convBlock(g, 3);
    const xp = K.putF32(x), wp = K.putF32(w), dyp = K.putF32(dy), sp = K.allocF32(w.length);
    const once = K.allocF32(w.length), twice = K.allocF32(w.length), db1 = K.allocF32(3), db2 = K.allocF32(3);
    K.k.conv2dBackward(blk, xp, wp, dyp, 0, once, db1, sp);
    K.k.conv2dBackward(blk, xp, wp, dyp, 0, twice, db2, sp);
    K.k.conv2dBackward(blk, xp, wp, dyp, 0, twice, db2, sp);
    expectClose(K.f32(twice, w.length), Array.from(K.f32(once, w.length), (v) => 2 * v), 1e-6, "2x dw");
    expectClose(K.f32(db2, 3), Array.from(K.f32(db1, 3), (v) => 2 * v), 1e-6, "2x db");
  });

  test.each(DW_CASES)("depthwise forward and gradients: $name", (cs) => {
    const K = new TrainKernels(build);
    const [kh, kw] = cs.k, [sh, sw] = cs.s;
    const g = windowGeometry(cs.n, cs.h, cs.w, cs.c, kh, kw, sh, sw, cs.pad);
    const oc = cs.c * cs.m;
    const x = randomF32(11, cs.n * cs.h * cs.w * cs.c), w = randomF32(12, kh * kw * oc), b = randomF32(13, oc);
    const img = (d: Float64Array): ref.Img => ({ n: cs.n, h: cs.h, w: cs.w, c: cs.c, data: d });
    const yRef = ref.depthwise(img(x), w, b, cs.m, kh, kw, sh, sw, cs.pad);
    const ny = yRef.data.length;
    const blk = K.convBlock(g, cs.m);
    const xp = K.putF32(x), wp = K.putF32(w), bp = K.putF32(b), yp = K.allocF32(ny);
    K.k.depthwiseForward(blk, xp, wp, bp, yp);
    expectClose(K.f32(yp, ny), yRef.data, 1e-5, "y");

    const r = randomF32(14, ny);
    const dyp = K.putF32(r), dxp = K.allocF32(x.length), dwp = K.allocF32(w.length), dbp = K.allocF32(oc);
    K.k.depthwiseBackward(blk, xp, wp, dyp, dxp, dwp, dbp);
    const loss = () => ref.project(ref.depthwise(img(x), w, b, cs.m, kh, kw, sh, sw, cs.pad).data, r);
    expectClose(K.f32(dxp, x.length), ref.numericGradient(loss, x), 1e-4, "dx");
    expectClose(K.f32(dwp, w.length), ref.numericGradient(loss, w), 1e-4, "dw");
    expectClose(K.f32(dbp, oc), ref.numericGradient(loss, b), 1e-4, "db");
  });

  test.each(POOL_CASES)("pool forward and gradient: $name", (cs) => {
    const K = new TrainKernels(build);
    const [kh, kw] = cs.k, [sh, sw] = cs.s;
    const g = windowGeometry(cs.n, cs.h, cs.w, cs.c, kh, kw, sh, sw, cs.pad);
    const x = randomF32(21, cs.n * cs.h * cs.w * cs.c);
    const img: ref.Img = { n: cs.n, h: cs.h, w: cs.w, c: cs.c, data: x };
    const yRef = ref.pool(cs.kind, img, kh, kw, sh, sw, cs.pad);
    const ny = yRef.data.length;
    const blk = K.poolBlock(g);
    const xp = K.putF32(x), yp = K.allocF32(ny);
    (cs.kind === "avg" ? K.k.avgPoolForward : K.k.maxPoolForward)(blk, xp, yp);
    expectClose(K.f32(yp, ny), yRef.data, 1e-6, "y");

    const r = randomF32(22, ny);
    const dyp = K.putF32(r), dxp = K.allocF32(x.length);
    if (cs.kind === "avg") K.k.avgPoolBackward(blk, dyp, dxp); else K.k.maxPoolBackward(blk, xp, dyp, dxp);
    const loss = () => ref.project(ref.pool(cs.kind, img, kh, kw, sh, sw, cs.pad).data, r);
    expectClose(K.f32(dxp, x.length), ref.numericGradient(loss, x), 1e-4, "dx");
  });

  test("dense forward and gradients", () => {
    const K = new TrainKernels(build);
    const n = 3, inDim = 13, outDim = 7;
    const x = randomF32(31, n * inDim), w = randomF32(32, outDim * inDim), b = randomF32(33, outDim);
    const yRef = ref.dense(x, n, inDim, w, b, outDim);
    const xp = K.putF32(x), wp = K.putF32(w), bp = K.putF32(b), yp = K.allocF32(n * outDim);
    K.k.denseForward(xp, wp, bp, yp, n, inDim, outDim);
    expectClose(K.f32(yp, n * outDim), yRef, 1e-5, "y");
    const r = randomF32(34, n * outDim);
    const dyp = K.putF32(r), dxp = K.allocF32(x.length), dwp = K.allocF32(w.length), dbp = K.allocF32(outDim);
    K.k.denseBackward(xp, wp, dyp, dxp, dwp, dbp, n, inDim, outDim);
    const loss = () => ref.project(ref.dense(x, n, inDim, w, b, outDim), r);
    expectClose(K.f32(dxp, x.length), ref.numericGradient(loss, x), 1e-4, "dx");
    expectClose(K.f32(dwp, w.length), ref.numericGradient(loss, w), 1e-4, "dw");
    expectClose(K.f32(dbp, outDim), ref.numericGradient(loss, b), 1e-4, "db");
  });

  test("relu forward and backward (in place)", () => {
    const K = new TrainKernels(build);
    const x = randomF32(41, 23), dy = randomF32(42, 23);
    const xp = K.putF32(x), dyp = K.putF32(dy);
    K.k.reluForward(xp, xp, 23);
    expect(Array.from(K.f32(xp, 23))).toEqual(Array.from(x, (v) => (v > 0 ? v : 0)));
    K.k.reluBackward(xp, dyp, dyp, 23);
    expect(Array.from(K.f32(dyp, 23))).toEqual(Array.from(x, (v, i) => (v > 0 ? dy[i] : 0)));
  });

  test("softmax cross-entropy: loss, probabilities and gradient", () => {
    const K = new TrainKernels(build);
    const n = 4, k = 10;
    const z = randomF32(51, n * k, -4, 4);
    const labels = [3, 0, 9, 3];
    const zp = K.putF32(z), lp = K.allocI32(n), pp = K.allocF32(n * k), dp = K.allocF32(n * k);
    K.i32(lp, n).set(labels);
    const loss = K.k.softmaxCrossEntropy(zp, lp, pp, dp, n, k);
    expect(Math.abs(loss - ref.softmaxCrossEntropy(z, labels, n, k))).toBeLessThan(1e-5);
    const probs = K.f32(pp, n * k);
    for (let r = 0; r < n; r++) {
      let m = -Infinity, s = 0;
      for (let i = 0; i < k; i++) m = Math.max(m, z[r * k + i]);
      for (let i = 0; i < k; i++) s += Math.exp(z[r * k + i] - m);
      for (let i = 0; i < k; i++) expect(Math.abs(probs[r * k + i] - Math.exp(z[r * k + i] - m) / s)).toBeLessThan(1e-6);
    }
    const numeric = ref.numericGradient(() => ref.softmaxCrossEntropy(z, labels, n, k), z);
    expectClose(K.f32(dp, n * k), numeric, 1e-5, "dlogits");
  });

  test("mean squared error: loss and gradient", () => {
    const K = new TrainKernels(build);
    const p = randomF32(61, 17), t = randomF32(62, 17);
    const pp = K.putF32(p), tp = K.putF32(t), dp = K.allocF32(17);
    const loss = K.k.meanSquaredError(pp, tp, dp, 17);
    expect(Math.abs(loss - ref.meanSquaredError(p, t))).toBeLessThan(1e-6);
    expectClose(K.f32(dp, 17), ref.numericGradient(() => ref.meanSquaredError(p, t), p), 1e-5, "dpred");
  });
});
