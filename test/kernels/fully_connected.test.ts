// FULLY_CONNECTED through the host prepare and the kernel, on every build, against the plain
// TypeScript reference (test/reference/int8-ops.ts).
import { describe, expect, it } from "vitest";
import { prepareFullyConnected } from "../../host/runtime/ops/fully_connected.js";
import { TensorType } from "../../host/model/types.js";
import { UnsupportedModelError } from "../../host/errors.js";
import { BUILDS, randI8, randInt, rng } from "../helpers/kernel-harness.js";
import { asI8, op, prepareOp, runOp, tensor, type CompileChoices } from "../helpers/prepare-harness.js";
import { fullyConnectedRef, refActivationRange, refQuantizeMultiplier } from "../reference/int8-ops.js";

interface FcCase {
  inShape: number[]; outShape: number[]; outDepth: number; inDepth: number;
  inScale: number; inZp: number; wScales: number[]; outScale: number; outZp: number;
  act: number; bias: Int32Array | null; weights: Int8Array; input: Int8Array; keepNumDims?: boolean;
}

function tensorsOf(c: FcCase) {
  return [
    tensor({ index: 0, shape: c.inShape, scale: c.inScale, zeroPoint: c.inZp }),
    tensor({ index: 1, shape: [c.outDepth, c.inDepth], data: c.weights, scale: c.wScales,
      zeroPoint: c.wScales.map(() => 0) }),
    ...(c.bias ? [tensor({ index: 2, type: TensorType.INT32, shape: [c.outDepth], data: c.bias,
      scale: c.wScales.map((s) => s * c.inScale) })] : []),
    tensor({ index: 3, shape: c.outShape, scale: c.outScale, zeroPoint: c.outZp }),
  ];
}

function fcOp(c: FcCase) {
  return op({ opName: "FULLY_CONNECTED", inputs: [0, 1, c.bias ? 2 : -1], outputs: [3],
    options: { fusedActivationFunction: c.act, keepNumDims: c.keepNumDims ?? false, weightsFormat: 0 } });
}

function expected(c: FcCase): Int8Array {
  const batches = c.input.length / c.inDepth;
  const mults: number[] = [];
  const shifts: number[] = [];
  for (let o = 0; o < c.outDepth; o++) {
    const ws = c.wScales.length === 1 ? c.wScales[0] : c.wScales[o];
    const m = refQuantizeMultiplier(c.inScale * ws / c.outScale);
    mults.push(m.multiplier);
    shifts.push(m.shift);
  }
  const [lo, hi] = refActivationRange(c.act, c.outScale, c.outZp);
  return fullyConnectedRef({ input: c.input, inZp: c.inZp, weights: c.weights, bias: c.bias, batches,
    inDepth: c.inDepth, outDepth: c.outDepth, multipliers: mults, shifts, outZp: c.outZp, lo, hi });
}

function run(build: (typeof BUILDS)[number], c: FcCase, compile: CompileChoices = {}): Int8Array {
  return asI8(runOp(build, prepareFullyConnected, tensorsOf(c), fcOp(c), { 0: c.input }, undefined, compile)[3]);
}

/** Word 16 of the kernel block: 0 row layout, 1 pair layout, 2 Strassen (fully_connected.ts). */
function layoutOf(c: FcCase, compile: CompileChoices = {}): number {
  const { prepared } = prepareOp(prepareFullyConnected, tensorsOf(c), fcOp(c), compile);
  const [block] = prepared.encode({ tensor: () => 0, blob: () => 0, scratch: () => 0 });
  return block.params[16];
}

/** A random case; `real` picks the effective multiplier range. */
function randomCase(r: () => number, opts: { batches?: number; inDepth?: number; outDepth?: number } = {}): FcCase {
  const batches = opts.batches ?? randInt(r, 1, 3);
  const inDepth = opts.inDepth ?? randInt(r, 1, 70);
  const outDepth = opts.outDepth ?? randInt(r, 1, 13);
  const zps = [-128, 127, 0, randInt(r, -128, 127)];
  const inZp = zps[randInt(r, 0, 3)];
  const outZp = zps[randInt(r, 0, 3)];
  const perChannel = r() < 0.5;
  const inScale = 0.01 + r() * 0.5;
  const wScales = Array.from({ length: perChannel ? outDepth : 1 }, () => 0.001 + r() * 0.05);
  // Output scale chosen so that some cases saturate and some land mid-range.
  const outScale = inScale * wScales[0] * (r() < 0.5 ? 20 + r() * 300 : 1000 + r() * 5000);
  const hasBias = r() < 0.7;
  const bias = hasBias ? Int32Array.from({ length: outDepth }, () => randInt(r, -20000, 20000)) : null;
  return {
    inShape: [batches, inDepth], outShape: [batches, outDepth], inDepth, outDepth,
    inScale, inZp, wScales, outScale, outZp, act: [0, 1, 2, 3][randInt(r, 0, 3)], bias,
    weights: randI8(r, outDepth * inDepth, -127, 127), input: randI8(r, batches * inDepth),
  };
}

for (const build of BUILDS) {
  describe(`FULLY_CONNECTED (${build})`, () => {
    it("matches the reference on 60 random shapes (tails, partial row groups, batches, per-channel)", () => {
      const r = rng(1234);
      for (let i = 0; i < 60; i++) {
        const c = randomCase(r);
        expect(Array.from(run(build, c)), `case ${i}: ${JSON.stringify({ ...c, weights: 0, input: 0, bias: !!c.bias })}`)
          .toEqual(Array.from(expected(c)));
      }
    });

    it("matches on batches 1..9 (row and pair layouts, partial tiles) for K and OC around the block sizes", () => {
      const r = rng(4321);
      const depths = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 70];
      const outs = [1, 3, 7, 8, 9, 13, 16, 17, 24];
      let i = 0;
      for (let batches = 1; batches <= 9; batches++) {
        for (const inDepth of depths) {
          const c = randomCase(r, { batches, inDepth, outDepth: outs[i++ % outs.length] });
          expect(Array.from(run(build, c)), `batches ${batches}, in ${inDepth}, out ${c.outDepth}, `
            + `${c.wScales.length > 1 ? "per-channel" : "per-tensor"}`).toEqual(Array.from(expected(c)));
        }
      }
    });

    it("matches on a batched GEMM-sized layer (40 x 256 -> 72) with per-tensor and per-channel scales", () => {
      const r = rng(99);
      for (let i = 0; i < 4; i++) {
        const c = randomCase(r, { batches: 40, inDepth: 256, outDepth: 72 });
        if (i % 2 === 0) c.wScales = [c.wScales[0]];
        else c.wScales = Array.from({ length: 72 }, () => 0.001 + r() * 0.05);
        // Scales that keep most outputs mid-range, so the float32 requantization path is exercised.
        c.outScale = c.inScale * c.wScales[0] * (400 + r() * 400);
        expect(Array.from(run(build, c)), `case ${i}`).toEqual(Array.from(expected(c)));
      }
    });

    it("matches on an AD-sized layer (640 -> 128) and its transpose (128 -> 640)", () => {
      const r = rng(77);
      for (const [i, o] of [[640, 128], [128, 640]]) {
        const c = randomCase(r, { batches: 1, inDepth: i, outDepth: o });
        expect(Array.from(run(build, c))).toEqual(Array.from(expected(c)));
      }
    });

    it("Strassen layout (large batches): the reference's bytes, and the pair layout's, on even splits", () => {
      const r = rng(2024);
      // [batches, in, out]: the smallest eligible shape, per-channel scales, a deep one, a GEMM.
      const shapes = [[8, 256, 64], [16, 256, 128], [24, 512, 80], [8, 1024, 64], [64, 256, 96], [256, 256, 256]];
      for (const [batches, inDepth, outDepth] of shapes) {
        for (const perChannel of [false, true]) {
          const c = randomCase(r, { batches, inDepth, outDepth });
          c.wScales = perChannel ? Array.from({ length: outDepth }, () => 0.001 + r() * 0.05) : [c.wScales[0]];
          // Mostly mid-range outputs (the float32 requantization path), some saturated.
          c.outScale = c.inScale * c.wScales[0] * (200 + r() * 600);
          const what = `${batches}x${inDepth}x${outDepth} ${perChannel ? "per-channel" : "per-tensor"}`;
          expect(layoutOf(c), what).toBe(2);
          expect(layoutOf(c, { strassen: false }), what).toBe(1);
          const want = Array.from(expected(c));
          expect(Array.from(run(build, c)), `${what}, Strassen`).toEqual(want);
          expect(Array.from(run(build, c, { strassen: false })), `${what}, pair layout`).toEqual(want);
        }
      }
    });

    it("Strassen layout: extreme zero points and operand sums of +-256, -128 weights included", () => {
      // Inputs and weights only -128 or 127: operand sums hit -256 and 254 everywhere.
      const r = rng(88);
      for (const inZp of [127, -128, 0]) {
        const c = randomCase(r, { batches: 16, inDepth: 256, outDepth: 64 });
        c.input = c.input.map(() => (r() < 0.5 ? -128 : 127));
        c.weights = c.weights.map(() => (r() < 0.5 ? -128 : 127));
        c.inZp = inZp;
        c.wScales = [c.wScales[0]];
        c.outScale = c.inScale * c.wScales[0] * 2 ** 18 / 40; // sums of +-2^18 (one deviation) land near +-40
        c.act = 0;
        expect(layoutOf(c)).toBe(2);
        const want = Array.from(expected(c));
        expect(new Set(want).size, "outputs spread over many values").toBeGreaterThan(20);
        expect(Array.from(run(build, c)), `zp ${inZp}`).toEqual(want);
      }
    });

    it("Strassen layout: exact where its partial products wrap int32 but the true sum does not", () => {
      // x = -128 and w = -127 nearly everywhere, depth 2^17: the first partial product sums
      // (-256) * (-254) over 2^16 pairs (about 4.3e9, wraps), the true sum is about 2.1e9 (fits).
      const r = rng(17);
      const c = randomCase(r, { batches: 8, inDepth: 131072, outDepth: 64 });
      c.input.fill(-128);
      c.weights.fill(-127);
      for (let i = 0; i < 64; i++) c.weights[randInt(r, 0, c.weights.length - 1)] = randInt(r, -127, 127);
      c.inZp = 0;
      c.bias = null;
      c.wScales = [c.wScales[0]];
      c.outScale = c.inScale * c.wScales[0] * 2 ** 31 / 100; // true sums land near 100
      c.outZp = 0;
      c.act = 0;
      expect(layoutOf(c)).toBe(2);
      const want = Array.from(expected(c));
      expect(want.every((v) => v > 90 && v < 110), "true sums fit int32 and requantize near 100").toBe(true);
      expect(Array.from(run(build, c))).toEqual(want);
    });

    it("handles weights of -128 and saturating accumulators", () => {
      const r = rng(5);
      const c = randomCase(r, { batches: 2, inDepth: 48, outDepth: 8 });
      c.weights.fill(-128);
      c.input.fill(-128);
      c.inZp = 127; // x - zp = -255 everywhere
      c.bias = Int32Array.from({ length: 8 }, (_, k) => (k % 2 ? 2147483647 : -2147483648));
      c.outScale = c.inScale * c.wScales[0] * 0.5; // multiplier > 1: left shift wraps int32
      const got = run(build, c);
      expect(Array.from(got)).toEqual(Array.from(expected(c)));
    });

    it("covers shift > 0, shift 0, shift -31 and a multiplier flushed to zero", () => {
      const r = rng(9);
      // Effective scales: 3.0 (shift 2), 0.75 (shift 0), 2^-31.5 (shift -31), 2^-33 (flushed).
      for (const real of [3.0, 0.75, 2 ** -31.5, 2 ** -33]) {
        const m = refQuantizeMultiplier(real);
        const c = randomCase(r, { batches: 2, inDepth: 33, outDepth: 6 });
        c.wScales = [0.5];
        c.inScale = 0.25;
        c.outScale = c.inScale * 0.5 / real;
        if (real === 3.0) expect(m.shift).toBe(2);
        if (real === 0.75) expect(m.shift).toBe(0);
        if (real === 2 ** -31.5) expect(m.shift).toBe(-31);
        if (real === 2 ** -33) expect(m).toEqual({ multiplier: 0, shift: 0 });
        c.bias = Int32Array.from({ length: 6 }, (_, k) => (k - 3) * 2 ** 28);
        expect(Array.from(run(build, c)), `real ${real}`).toEqual(Array.from(expected(c)));
      }
    });

    it("flattens a 4-D input (micro_speech style) and keeps dims (dtln style)", () => {
      const r = rng(31);
      const c4 = randomCase(r, { batches: 1, inDepth: 5 * 4 * 8, outDepth: 4 });
      c4.inShape = [1, 5, 4, 8];
      expect(Array.from(run(build, c4))).toEqual(Array.from(expected(c4)));
      const c3 = randomCase(r, { batches: 1, inDepth: 128, outDepth: 257 });
      c3.inShape = [1, 1, 128];
      c3.outShape = [1, 1, 257];
      c3.keepNumDims = true;
      expect(Array.from(run(build, c3))).toEqual(Array.from(expected(c3)));
      const c2 = randomCase(r, { batches: 3, inDepth: 16, outDepth: 5 });
      c2.inShape = [3, 2, 8]; // flattened to 3 rows of 16
      c2.outShape = [3, 5];
      expect(Array.from(run(build, c2))).toEqual(Array.from(expected(c2)));
      const c5 = randomCase(r, { batches: 6, inDepth: 20, outDepth: 11 });
      c5.inShape = [2, 3, 20]; // 6 rows, keep_num_dims output [2, 3, 11]
      c5.outShape = [2, 3, 11];
      c5.keepNumDims = true;
      expect(Array.from(run(build, c5))).toEqual(Array.from(expected(c5)));
    });
  });
}

describe("FULLY_CONNECTED prepare rejects what it cannot run", () => {
  const base = () => randomCase(rng(3), { batches: 1, inDepth: 8, outDepth: 4 });
  const prep = (c: FcCase, patch?: (t: ReturnType<typeof tensorsOf>) => void, options?: Record<string, number>) => {
    const t = tensorsOf(c);
    patch?.(t);
    const o = fcOp(c);
    if (options) Object.assign(o.options, options);
    return () => prepareOp(prepareFullyConnected, t, o);
  };
  it("non-zero weight zero point", () => {
    expect(prep(base(), (t) => { t[1].quantization!.zeroPoint = [3]; })).toThrow(/zero point/);
  });
  it("float input", () => {
    expect(prep(base(), (t) => { t[0].type = TensorType.FLOAT32; })).toThrow(UnsupportedModelError);
  });
  it("shuffled weights format", () => {
    expect(prep(base(), undefined, { weightsFormat: 1 })).toThrow(/weights_format/);
  });
  it("input that does not flatten to rows of `in`", () => {
    const c = base();
    c.inShape = [1, 9];
    expect(prep(c)).toThrow(/flatten/);
  });
  it("output shape mismatch", () => {
    const c = base();
    c.outShape = [1, 5];
    expect(prep(c)).toThrow(/output shape/);
  });
  it("unsupported fused activation (TANH)", () => {
    expect(prep(base(), undefined, { fusedActivationFunction: 4 })).toThrow(/activation/);
  });
});
