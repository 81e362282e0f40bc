// CONV_2D through the host prepare and the kernel, on every kernel build, against the plain
// TypeScript reference (test/reference/conv.ts).
import { describe, expect, it } from "vitest";
import { UnsupportedModelError } from "../../host/errors.js";
import { TensorType } from "../../host/model/types.js";
import { prepareConv2d } from "../../host/runtime/ops/conv2d.js";
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
  ["shift < -31: multiplier flushed to zero", { kind: "conv", h: 4, w: 4, ic: 4, oc: 8, kh: 3, kw: 3, log2Real: 33, jitter: 0.5 }],
  ["large bias near the int32 limits", { kind: "conv", h: 4, w: 4, ic: 16, oc: 8, kh: 3, kw: 3, biasRange: 2147483000, log2Real: 25 }],
];

function check(build: KernelBuild, c: CaseShape, seed: number): void {
  const r = rng(seed);
  const spec = makeSpec(r, c);
  const ref = referenceConv2d(spec);
  const got = runConv(build, spec, ref.shape);
  const i = firstDiff(got, ref.data);
  if (i >= 0) {
    const oc = ref.shape[3];
    throw new Error(`${build}: output ${i} (pixel ${Math.floor(i / oc)}, channel ${i % oc}) is ${got[i]}, expected ${ref.data[i]}`);
  }
}

function runConv(build: KernelBuild, spec: ConvSpec, shape: number[]): Int8Array {
  return runOp(new KernelHarness(build), prepareConv2d, opFor("conv", spec, shape));
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
