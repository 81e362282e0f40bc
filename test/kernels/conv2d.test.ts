// CONV_2D through the host prepare and the kernel, on every kernel build, against the plain
// TypeScript reference (test/reference/conv.ts).
import { describe, expect, it } from "vitest";
import { UnsupportedModelError } from "../../host/errors.js";
import { TensorType } from "../../host/model/types.js";
import { prepareConv2d, winogradWeights } from "../../host/runtime/ops/conv2d.js";
import { BUILDS, KernelHarness, randInt, rng } from "../helpers/kernel-harness.js";
import { referenceConv2d, refQuantizeMultiplier, type ConvSpec } from "../reference/conv.js";
import { firstDiff, makeSpec, opFor, type CaseShape } from "./conv-cases.js";
import { prepareOnly, runOp, tensor } from "./op-harness.js";
import type { KernelBuild } from "../../host/wasm/kernels.js";

export const CASES: [string, CaseShape][] = [
  ["KWS first conv: 49x10x1, 10x4 kernel, stride 2, uneven SAME (4 top / 5 bottom), RELU",
    { kind: "conv", h: 49, w: 10, ic: 1, oc: 20, kh: 10, kw: 4, stride: [2, 2], act: "RELU", inZp: 83, outZp: -128 }],
  ["VWW first conv: 3x3x3 stride 2 on an even input", { kind: "conv", h: 24, w: 24, ic: 3, oc: 8, kh: 3, kw: 3, stride: [2, 2], act: "RELU", inZp: -128 }],
  ["1x1 conv 16 -> 32", { kind: "conv", h: 6, w: 7, ic: 16, oc: 32, kh: 1, kw: 1, act: "RELU" }],
  ["1x1 conv 8 -> 16 (VWW op02-like)", { kind: "conv", h: 5, w: 5, ic: 8, oc: 16, kh: 1, kw: 1 }],
  ["1x1 stride 2, VALID (IC shortcut)", { kind: "conv", h: 8, w: 8, ic: 16, oc: 32, kh: 1, kw: 1, stride: [2, 2], padding: "VALID" }],
  ["3x3 SAME 17 -> 33 (odd channel counts)", { kind: "conv", h: 7, w: 6, ic: 17, oc: 33, kh: 3, kw: 3 }],
  ["3x3 SAME 5 -> 3", { kind: "conv", h: 5, w: 9, ic: 5, oc: 3, kh: 3, kw: 3 }],
  ["1 -> 1 channel", { kind: "conv", h: 6, w: 6, ic: 1, oc: 1, kh: 3, kw: 3 }],
  ["3x3 stride 2 SAME on odd input", { kind: "conv", h: 9, w: 7, ic: 4, oc: 9, kh: 3, kw: 3, stride: [2, 2] }],
  ["dilation 2", { kind: "conv", h: 9, w: 10, ic: 3, oc: 5, kh: 3, kw: 3, dilation: [2, 2] }],
  ["dilation 2x1 with stride 1x2, VALID", { kind: "conv", h: 10, w: 11, ic: 6, oc: 7, kh: 3, kw: 2, dilation: [2, 1], stride: [1, 2], padding: "VALID" }],
  ["5x5 stride 3 SAME, batch 3", { kind: "conv", n: 3, h: 11, w: 8, ic: 2, oc: 10, kh: 5, kw: 5, stride: [3, 3] }],
  ["input zero point -128, RELU6", { kind: "conv", h: 6, w: 6, ic: 8, oc: 12, kh: 3, kw: 3, inZp: -128, outZp: -128, act: "RELU6" }],
  ["input zero point 127, RELU_N1_TO_1", { kind: "conv", h: 6, w: 6, ic: 8, oc: 12, kh: 3, kw: 3, inZp: 127, outZp: 5, act: "RELU_N1_TO_1" }],
  ["no bias, batch 2", { kind: "conv", n: 2, h: 5, w: 4, ic: 3, oc: 6, kh: 2, kw: 2, noBias: true }],
  ["per-tensor weight scale", { kind: "conv", h: 5, w: 5, ic: 4, oc: 6, kh: 3, kw: 3, perTensorWeights: true }],
  ["saturation: multipliers far above the accumulator range", { kind: "conv", h: 5, w: 5, ic: 8, oc: 8, kh: 3, kw: 3, log2Real: 4 }],
  ["shift > 0 (multiplier > 1)", { kind: "conv", h: 5, w: 5, ic: 4, oc: 16, kh: 3, kw: 3, log2Real: -2.5, xRange: 2, wRange: 3, biasRange: 10 }],
  ["shift > 0 with accumulators that wrap when shifted left", { kind: "conv", h: 4, w: 4, ic: 4, oc: 16, kh: 3, kw: 3, log2Real: -3, biasRange: 2 ** 30 }],
  ["shift = 0 (multiplier in [0.5, 1))", { kind: "conv", h: 5, w: 5, ic: 2, oc: 8, kh: 3, kw: 3, log2Real: 0.6, jitter: 0.2, xRange: 4, wRange: 4, biasRange: 20 }],
  ["right shift 21 on every channel (last exact case of the fast SIMD requantization)", { kind: "conv", h: 5, w: 5, ic: 16, oc: 16, kh: 3, kw: 3, log2Real: 21.5, jitter: 0.4, biasRange: 2 ** 30 }],
  ["right shift 22 (general SIMD requantization)", { kind: "conv", h: 5, w: 5, ic: 16, oc: 16, kh: 3, kw: 3, log2Real: 22.5, jitter: 0.4, biasRange: 2 ** 31 - 1000 }],
  ["right shifts from 2 to 24 across channels", { kind: "conv", h: 5, w: 5, ic: 24, oc: 16, kh: 3, kw: 3, log2Real: 13, jitter: 22, biasRange: 2 ** 24 }],
  ["right shifts 30 and 31 (the largest kept) with int32-wide accumulators", { kind: "conv", h: 5, w: 5, ic: 16, oc: 16, kh: 1, kw: 1, log2Real: 30.9, jitter: 1.6, biasRange: 2 ** 31 - 10 ** 6 }],
  ["shift < -31: multiplier flushed to zero", { kind: "conv", h: 4, w: 4, ic: 4, oc: 8, kh: 3, kw: 3, log2Real: 33, jitter: 0.5 }],
  ["large bias near the int32 limits", { kind: "conv", h: 4, w: 4, ic: 16, oc: 8, kh: 3, kw: 3, biasRange: 2147483000, log2Real: 25 }],
];

/** The case against the reference, with Winograd (where it applies) and with the direct path. */
function check(build: KernelBuild, c: CaseShape, seed: number): void {
  const r = rng(seed);
  const spec = makeSpec(r, c);
  const ref = referenceConv2d(spec);
  for (const winograd of [true, false]) {
    const got = runConv(build, spec, ref.shape, winograd);
    const i = firstDiff(got, ref.data);
    if (i >= 0) {
      const oc = ref.shape[3];
      throw new Error(`${build}${winograd ? "" : " (direct)"}: output ${i} (pixel ${Math.floor(i / oc)}, channel ${i % oc}) is ${got[i]}, expected ${ref.data[i]}`);
    }
  }
}

function runConv(build: KernelBuild, spec: ConvSpec, shape: number[], winograd = true): Int8Array {
  return runOp(new KernelHarness(build), prepareConv2d, opFor("conv", spec, shape), { winograd });
}

describe("CONV_2D reference (hand-derived)", () => {
  it("reproduces a hand-computed 1x1 conv output", () => {
    // One pixel, 2 input channels, 1 output: acc = 7 + (10-2)*3 + (-6-2)*(-5) = 7 + 24 + 40 = 71.
    // Multiplier 0.25 -> 71/4 = 17.75 -> 18; + out zp 3 = 21.
    const out = referenceConv2d({
      input: Int8Array.of(10, -6), inShape: [1, 1, 1, 2], inScale: 0.5, inZp: 2,
      filter: Int8Array.of(3, -5), filterShape: [1, 1, 1, 2], wScales: [0.25], bias: Int32Array.of(7),
      outScale: 0.5, outZp: 3, padding: "VALID", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
    });
    expect(Array.from(out.data)).toEqual([21]);
    expect(refQuantizeMultiplier(0.25)).toEqual([2 ** 30, -1]);
  });
});

for (const build of BUILDS) {
  describe(`CONV_2D on the ${build} build`, () => {
    CASES.forEach(([name, c], i) => {
      it(name, () => check(build, c, 1000 + i));
    });
    it("randomized shapes (seeded)", () => {
      const r = rng(4242);
      for (let t = 0; t < 25; t++) {
        const kh = randInt(r, 1, 4), kw = randInt(r, 1, 4);
        const c: CaseShape = {
          kind: "conv", n: randInt(r, 1, 2), h: randInt(r, kh, 9), w: randInt(r, kw, 9),
          ic: randInt(r, 1, 20), oc: randInt(r, 1, 20), kh, kw,
          stride: [randInt(r, 1, 3), randInt(r, 1, 3)], dilation: [randInt(r, 1, 2), randInt(r, 1, 2)],
          padding: r() < 0.5 ? "SAME" : "VALID",
          act: (["NONE", "RELU", "RELU6", "RELU_N1_TO_1"] as const)[randInt(r, 0, 3)],
        };
        if (c.padding === "VALID" && ((kh - 1) * c.dilation![0] + 1 > c.h || (kw - 1) * c.dilation![1] + 1 > c.w)) continue;
        check(build, c, 9000 + t);
      }
    });
  });
}

// 3x3 stride-1 convolutions with IC % 8 == 0 run Winograd F(2x2, 3x3) by default
// (assembly/kernels/conv2d_winograd.ts); check() runs each case both ways.
const WINOGRAD_CASES: [string, CaseShape][] = [
  ["1x1 input, SAME (one partial tile)", { kind: "conv", h: 1, w: 1, ic: 8, oc: 8, kh: 3, kw: 3 }],
  ["2x3 input, SAME", { kind: "conv", h: 2, w: 3, ic: 16, oc: 5, kh: 3, kw: 3 }],
  ["odd output 7x5, SAME, 24 -> 17", { kind: "conv", h: 7, w: 5, ic: 24, oc: 17, kh: 3, kw: 3 }],
  ["VALID 6x9 -> 4x7, 8 -> 9", { kind: "conv", h: 6, w: 9, ic: 8, oc: 9, kh: 3, kw: 3, padding: "VALID" }],
  ["VALID 3x3 -> 1x1", { kind: "conv", h: 3, w: 3, ic: 8, oc: 3, kh: 3, kw: 3, padding: "VALID" }],
  ["IC-like 32x32x16 -> 16, RELU, input zp -128", { kind: "conv", h: 32, w: 32, ic: 16, oc: 16, kh: 3, kw: 3, act: "RELU", inZp: -128, outZp: -128 }],
  ["64 -> 64 on 8x8, full-range values", { kind: "conv", h: 8, w: 8, ic: 64, oc: 64, kh: 3, kw: 3 }],
  ["136 input channels (large transformed sums)", { kind: "conv", h: 5, w: 6, ic: 136, oc: 12, kh: 3, kw: 3, inZp: 127 }],
  ["input zero point 127 (|x - zp| up to 255)", { kind: "conv", h: 9, w: 4, ic: 8, oc: 8, kh: 3, kw: 3, inZp: 127 }],
  ["tiles not a multiple of the block: 5x5 output", { kind: "conv", h: 5, w: 5, ic: 8, oc: 24, kh: 3, kw: 3, act: "RELU6" }],
];

/** Worst case for the transformed values: alternating extreme inputs and weights. */
function adversarialSpec(ic: number, oc: number, inZp: number): ConvSpec {
  const h = 6, w = 6;
  const input = Int8Array.from({ length: h * w * ic }, (_, i) => (((i / ic) | 0) + (i % 3)) % 2 ? 127 : -128);
  const filter = Int8Array.from({ length: oc * 9 * ic }, (_, i) => (((i / ic) | 0) % 2 ? 127 : -127) * (i % 5 === 0 ? -1 : 1));
  return {
    input, inShape: [1, h, w, ic], inScale: 0.05, inZp,
    filter, filterShape: [oc, 3, 3, ic], wScales: Array.from({ length: oc }, (_, c) => 2e-6 * (1 + c / oc)),
    bias: Int32Array.from({ length: oc }, (_, c) => c * 1000 - 5000),
    outScale: 0.1, outZp: 3, padding: "SAME", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
  };
}

for (const build of BUILDS) {
  describe(`CONV_2D 3x3 stride 1 (Winograd and direct) on the ${build} build`, () => {
    WINOGRAD_CASES.forEach(([name, c], i) => {
      it(name, () => check(build, c, 3000 + i));
    });
    it("adversarial extremes, 8 and 64 input channels, zero points -128 / 0 / 127", () => {
      for (const ic of [8, 64]) {
        for (const zp of [-128, 0, 127]) {
          const spec = adversarialSpec(ic, 10, zp);
          const ref = referenceConv2d(spec);
          for (const winograd of [true, false]) {
            const got = runConv(build, spec, ref.shape, winograd);
            expect(firstDiff(got, ref.data), `ic ${ic}, zp ${zp}, winograd ${winograd}`).toBe(-1);
          }
        }
      }
    });
    it("randomized 3x3 stride-1 shapes (seeded)", () => {
      const r = rng(777);
      for (let t = 0; t < 20; t++) {
        const c: CaseShape = {
          kind: "conv", h: randInt(r, 1, 12), w: randInt(r, 1, 12), ic: 8 * randInt(r, 1, 5), oc: randInt(r, 1, 20),
          kh: 3, kw: 3, padding: "SAME", act: (["NONE", "RELU", "RELU6"] as const)[randInt(r, 0, 2)],
        };
        check(build, c, 5000 + t);
      }
    });
  });
}

/**
 * 1x1 conv with accumulators near the int32 limit: K = 65792, |x - zp| = 255 and |w| = 128
 * everywhere make a pixel's sum reach 255 * 128 * K = 2147450880, just under 2^31, with both
 * signs and near zero, on five pixels.
 */
function pairBoundSpec(): ConvSpec {
  const ic = 65792, px = 5;
  const input = new Int8Array(px * ic).fill(-128);
  for (let i = 0; i < ic; i += 7) input[ic + i] = 127; // pixel 1: some taps at x - zp = 0
  for (let i = 0; i < ic; i += 5) input[4 * ic + i] = 127; // pixel 4 likewise
  const filter = new Int8Array(3 * ic);
  filter.fill(-128, 0, ic); // channel 0: +2147450880 on pixel 0
  filter.fill(127, ic, 2 * ic); // channel 1: negative
  for (let i = 0; i < ic; i++) filter[2 * ic + i] = i % 2 ? 127 : -128; // channel 2: near 0
  return {
    input, inShape: [1, 1, px, ic], inScale: 0.05, inZp: 127,
    filter, filterShape: [3, 1, 1, ic], wScales: [9.3e-8, 9.1e-8, 3e-3],
    bias: Int32Array.from([32767, -5000, 1234]),
    outScale: 0.1, outZp: -3, padding: "VALID", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
  };
}

for (const build of BUILDS) {
  it(`CONV_2D accumulators near the int32 limit (K = 65792) on the ${build} build`, () => {
    const spec = pairBoundSpec();
    const ref = referenceConv2d(spec);
    expect(new Set(ref.data).size, "the case should not saturate to one value").toBeGreaterThan(3);
    expect(firstDiff(runConv(build, spec, ref.shape), ref.data)).toBe(-1);
  });
}

// One group of output channels (<= 8), N = 1, dilation 1, not 1x1 stride 1: the SIMD builds read interior
// tiles of four pixels straight from the input (conv2dDirectSimd), each kernel row's run of
// KW * IC taps as 8-byte chunks (four pairs) plus single pairs, the run padded to even length.
const DIRECT_CASES: [string, CaseShape][] = [
  ["run of 1 tap (a padded pair): 1x1 stride 2, IC 1, 1 channel", { kind: "conv", h: 9, w: 20, ic: 1, oc: 1, kh: 1, kw: 1, stride: [2, 2] }],
  ["run of 4 (two single pairs): 2x2 IC 2, 8 channels", { kind: "conv", h: 7, w: 14, ic: 2, oc: 8, kh: 2, kw: 2, padding: "VALID" }],
  ["run of 8 (one chunk): 1x4 IC 2 stride 2, 7 channels", { kind: "conv", h: 6, w: 21, ic: 2, oc: 7, kh: 1, kw: 4, stride: [1, 2] }],
  ["run of 9 (chunk + padded pair): 3x3x3 stride 2 SAME, zero point -128", { kind: "conv", h: 13, w: 26, ic: 3, oc: 8, kh: 3, kw: 3, stride: [2, 2], inZp: -128, act: "RELU" }],
  ["run of 15 (two chunks, the last pair padded): 5x5x3 stride 1 VALID, 6 channels", { kind: "conv", h: 8, w: 13, ic: 3, oc: 6, kh: 5, kw: 5, padding: "VALID" }],
  ["run of 16 (two chunks): 2x4 IC 4 stride 3, zero point 127", { kind: "conv", h: 9, w: 30, ic: 4, oc: 5, kh: 2, kw: 4, stride: [3, 3], inZp: 127 }],
  ["run of 17 (two chunks + a padded pair), rows ending at the input's last byte: 1x17 VALID", { kind: "conv", h: 3, w: 24, ic: 1, oc: 8, kh: 1, kw: 17, padding: "VALID" }],
];

for (const build of BUILDS) {
  describe(`CONV_2D with one group of output channels (direct tiles on SIMD) on the ${build} build`, () => {
    DIRECT_CASES.forEach(([name, c], i) => {
      it(name, () => check(build, c, 5000 + i));
    });
  });
}

describe("direct tiles", () => {
  const params = (u: ReturnType<typeof prepareOnly>): ArrayLike<number> =>
    (u.encode({ tensor: () => 64, blob: () => 1024, scratch: () => 4096 } as never)[0].params);
  const spec = (c: CaseShape) => { const s = makeSpec(rng(1), c); return opFor("conv", s, referenceConv2d(s).shape); };
  it("are prepared for up to 8 output channels, not for more, 1x1 stride 1, batches or dilation", () => {
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 8, w: 8, ic: 3, oc: 8, kh: 3, kw: 3, stride: [2, 2] })))[26]).not.toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 8, w: 8, ic: 3, oc: 9, kh: 3, kw: 3, stride: [2, 2] })))[26]).toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 8, w: 8, ic: 8, oc: 8, kh: 1, kw: 1 })))[26]).toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", n: 2, h: 8, w: 8, ic: 3, oc: 8, kh: 3, kw: 3 })))[26]).toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 9, w: 9, ic: 3, oc: 8, kh: 3, kw: 3, dilation: [2, 2] })))[26]).toBe(0);
  });
});

describe("Winograd weight transform", () => {
  const params = (u: ReturnType<typeof prepareOnly>): ArrayLike<number> =>
    (u.encode({ tensor: () => 64, blob: () => 1024, scratch: () => 4096 } as never)[0].params);
  it("is used for a 3x3 stride-1 convolution with IC % 8 == 0, not for stride 2 or IC % 8 != 0", () => {
    const spec = (c: CaseShape) => { const s = makeSpec(rng(1), c); return opFor("conv", s, referenceConv2d(s).shape); };
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 6, w: 6, ic: 16, oc: 8, kh: 3, kw: 3 }), true))[25]).not.toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 6, w: 6, ic: 16, oc: 8, kh: 3, kw: 3, stride: [2, 2] }), true))[25]).toBe(0);
    expect(params(prepareOnly(prepareConv2d, spec({ kind: "conv", h: 6, w: 6, ic: 12, oc: 8, kh: 3, kw: 3 }), true))[25]).toBe(0);
  });
  it("computes G' g G't by hand for one filter", () => {
    // g = [[1,2,3],[4,5,6],[7,8,9]], G' = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]]:
    // G' g = [[2,4,6],[12,15,18],[4,5,6],[14,16,18]]; (G' g) G't row 0 = [4, 12, 4, 12].
    const w = new Int8Array(9 * 8);
    for (let k = 0; k < 9; k++) w[k * 8] = k + 1; // input channel 0 of output channel 0
    const u = winogradWeights(w, 1, 8, 255)!;
    const at = (xi: number) => u[((xi * 1 + 0) * 4 + 0) * 16]; // [xi][group 0][pair 0][channel 0][ic 0]
    expect([at(0), at(1), at(2), at(3)]).toEqual([4, 12, 4, 12]);
    // Row 1 of G' g = [12, 15, 18] -> [24, 45, 15, 36].
    expect([at(4), at(5), at(6), at(7)]).toEqual([24, 45, 15, 36]);
  });
  it("refuses filters whose transformed sums could leave int32", () => {
    // Constant 127 weights: (G' g G't)[r][s] = 127 * a_r * a_s with a = (2, 3, 1, 2); output (0, 0)
    // combines r, s in {0, 1, 2}: 512 * 127 * 36 * (4 * 255) > 2^31, while 8 channels stay far below.
    const ic = 512;
    const w = new Int8Array(9 * ic).fill(127);
    expect(winogradWeights(w, 1, ic, 255)).toBeNull();
    expect(winogradWeights(new Int8Array(9 * 8).fill(127), 1, 8, 255)).not.toBeNull();
  });
});

describe("CONV_2D prepare rejects what it cannot run", () => {
  const base = () => opFor("conv", makeSpec(rng(1), { kind: "conv", h: 4, w: 4, ic: 2, oc: 3, kh: 3, kw: 3 }), [1, 4, 4, 3]);
  it("a uint8 input", () => {
    const u = base();
    u.inputs[0] = tensor([1, 4, 4, 2], TensorType.UINT8, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(UnsupportedModelError);
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/input must be INT8/);
  });
  it("a wrong number of weight scales", () => {
    const u = base();
    const f = u.inputs[1]!;
    u.inputs[1] = tensor(f.shape, TensorType.INT8, { data: f.data!, scale: [0.1, 0.2] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/2 scales, expected 1 or 3/);
  });
  it("a float bias", () => {
    const u = base();
    u.inputs[2] = tensor([3], TensorType.FLOAT32, { data: new Float32Array(3) });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/bias must be INT32/);
  });
  it("channel counts that disagree", () => {
    const u = base();
    u.inputs[0] = tensor([1, 4, 4, 5], TensorType.INT8, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/input channels/);
  });
  it("an output shape that does not match", () => {
    const u = base();
    u.outputs[0] = tensor([1, 2, 4, 3], TensorType.INT8, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/output shape/);
  });
  it("an unsupported fused activation (TANH)", () => {
    const u = base();
    u.options.fusedActivationFunction = 4;
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/fused activation 4/);
  });
  it("non-zero weight zero points", () => {
    const u = base();
    const f = u.inputs[1]!;
    u.inputs[1] = tensor(f.shape, TensorType.INT8, { data: f.data!, scale: [0.1, 0.1, 0.1], zeroPoint: [0, 1, 0] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/zero points must be 0/);
  });
  it("a rank-3 input", () => {
    const u = base();
    u.inputs[0] = tensor([4, 4, 2], TensorType.INT8, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareConv2d, u)).toThrow(/rank 4/);
  });
});
