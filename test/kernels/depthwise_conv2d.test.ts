// DEPTHWISE_CONV_2D through the host prepare and the kernel, on every kernel build, against the
// plain TypeScript reference (test/reference/conv.ts).
import { describe, expect, it } from "vitest";
import { UnsupportedModelError } from "../../host/errors.js";
import { TensorType } from "../../host/model/types.js";
import { prepareDepthwiseConv2d } from "../../host/runtime/ops/depthwise_conv2d.js";
import type { KernelBuild } from "../../host/wasm/kernels.js";
import { BUILDS, KernelHarness, randInt, rng } from "../helpers/kernel-harness.js";
import { referenceDepthwiseConv2d } from "../reference/conv.js";
import { firstDiff, makeSpec, opFor, type CaseShape } from "./conv-cases.js";
import { prepareOnly, runOp, tensor } from "./op-harness.js";

export const CASES: [string, CaseShape][] = [
  ["MobileNet 3x3 SAME, 16 channels, RELU", { kind: "dw", h: 8, w: 8, ic: 16, kh: 3, kw: 3, act: "RELU", outZp: -128 }],
  ["3x3 stride 2 SAME on an even input (pads 0 before, 1 after)", { kind: "dw", h: 10, w: 12, ic: 32, kh: 3, kw: 3, stride: [2, 2], act: "RELU" }],
  ["3x3 stride 2 SAME on an odd input", { kind: "dw", h: 9, w: 7, ic: 8, kh: 3, kw: 3, stride: [2, 2] }],
  ["person_detect first layer: 1 channel x multiplier 8, stride 2, RELU6", { kind: "dw", h: 12, w: 12, ic: 1, mult: 8, kh: 3, kw: 3, stride: [2, 2], act: "RELU6", inZp: -1 }],
  ["micro_speech: 10x8 kernel, stride 2, multiplier 8, RELU", { kind: "dw", h: 49, w: 40, ic: 1, mult: 8, kh: 10, kw: 8, stride: [2, 2], act: "RELU", inZp: -128 }],
  ["multiplier 2 on 3 channels", { kind: "dw", h: 6, w: 5, ic: 3, mult: 2, kh: 3, kw: 3 }],
  ["multiplier 8 on 2 channels", { kind: "dw", h: 5, w: 5, ic: 2, mult: 8, kh: 3, kw: 3 }],
  ["1 channel, multiplier 1", { kind: "dw", h: 6, w: 6, ic: 1, kh: 3, kw: 3 }],
  ["5 channels", { kind: "dw", h: 6, w: 7, ic: 5, kh: 3, kw: 3 }],
  ["17 channels", { kind: "dw", h: 6, w: 7, ic: 17, kh: 3, kw: 3 }],
  ["33 channels, 5x5", { kind: "dw", h: 7, w: 7, ic: 33, kh: 5, kw: 5 }],
  ["str_ww: 15x1 kernel along time, VALID, no activation", { kind: "dw", h: 30, w: 1, ic: 40, kh: 15, kw: 1, padding: "VALID", outZp: -5 }],
  ["network_tester: 2x2 kernel stride 2 SAME", { kind: "dw", h: 8, w: 8, ic: 16, kh: 2, kw: 2, stride: [2, 2], inZp: -1, outZp: -3 }],
  ["uneven SAME: 4x3 kernel stride 2", { kind: "dw", h: 11, w: 10, ic: 9, kh: 4, kw: 3, stride: [2, 2] }],
  ["dilation 2", { kind: "dw", h: 9, w: 9, ic: 12, kh: 3, kw: 3, dilation: [2, 2] }],
  ["dilation 3x2, multiplier 2", { kind: "dw", h: 10, w: 9, ic: 4, mult: 2, kh: 3, kw: 3, dilation: [3, 2] }],
  ["batch 3", { kind: "dw", n: 3, h: 5, w: 6, ic: 10, kh: 3, kw: 3 }],
  ["input zero point -128, RELU6", { kind: "dw", h: 6, w: 6, ic: 24, kh: 3, kw: 3, inZp: -128, outZp: -128, act: "RELU6" }],
  ["input zero point 127, RELU_N1_TO_1", { kind: "dw", h: 6, w: 6, ic: 24, kh: 3, kw: 3, inZp: 127, outZp: 3, act: "RELU_N1_TO_1" }],
  ["no bias", { kind: "dw", h: 5, w: 5, ic: 8, kh: 3, kw: 3, noBias: true }],
  ["per-tensor weight scale", { kind: "dw", h: 5, w: 5, ic: 8, kh: 3, kw: 3, perTensorWeights: true }],
  ["saturation", { kind: "dw", h: 5, w: 5, ic: 16, kh: 3, kw: 3, log2Real: 2 }],
  ["shift > 0 (multiplier > 1)", { kind: "dw", h: 5, w: 5, ic: 16, kh: 3, kw: 3, log2Real: -2.5, xRange: 2, wRange: 3, biasRange: 10 }],
  ["shift = 0 (multiplier in [0.5, 1))", { kind: "dw", h: 5, w: 5, ic: 16, kh: 3, kw: 3, log2Real: 0.6, jitter: 0.2, xRange: 5, wRange: 5, biasRange: 20 }],
  ["right shift 21 on every channel (last exact case of the fast SIMD requantization)", { kind: "dw", h: 5, w: 5, ic: 16, kh: 3, kw: 3, log2Real: 21.5, jitter: 0.4, biasRange: 2 ** 30 }],
  ["right shift 22 (general SIMD requantization)", { kind: "dw", h: 5, w: 5, ic: 16, kh: 3, kw: 3, log2Real: 22.5, jitter: 0.4, biasRange: 2 ** 31 - 1000 }],
  ["right shifts from 2 to 24 across channels", { kind: "dw", h: 5, w: 5, ic: 24, kh: 3, kw: 3, log2Real: 13, jitter: 22, biasRange: 2 ** 24 }],
  ["shift < -31: multiplier flushed to zero", { kind: "dw", h: 5, w: 5, ic: 8, kh: 3, kw: 3, log2Real: 33, jitter: 0.5 }],
];

function check(build: KernelBuild, c: CaseShape, seed: number): void {
  const spec = makeSpec(rng(seed), c);
  const ref = referenceDepthwiseConv2d(spec);
  const got = runOp(new KernelHarness(build), prepareDepthwiseConv2d, opFor("dw", spec, ref.shape));
  const i = firstDiff(got, ref.data);
  if (i >= 0) {
    const oc = ref.shape[3];
    throw new Error(`${build}: output ${i} (pixel ${Math.floor(i / oc)}, channel ${i % oc}) is ${got[i]}, expected ${ref.data[i]}`);
  }
}

describe("DEPTHWISE_CONV_2D reference (hand-derived)", () => {
  it("reproduces a hand-computed 2x2 valid depthwise output with multiplier 2", () => {
    // Input 2x2x1 = [1, 2, 3, 4], zp 1 -> [0, 1, 2, 3]. Filters for oc0 = [1, 1, 1, 1],
    // oc1 = [1, -1, 2, 0]. acc0 = 6, acc1 = 0 - 1 + 4 + 0 = 3, bias [10, -3] -> 16, 0.
    // Multiplier 0.5 (shift 0): 16 * 0.5 = 8; 0. Output zp -1 -> 7, -1.
    const out = referenceDepthwiseConv2d({
      input: Int8Array.of(1, 2, 3, 4), inShape: [1, 2, 2, 1], inScale: 1, inZp: 1,
      filter: Int8Array.of(1, 1, 1, -1, 1, 2, 1, 0), filterShape: [1, 2, 2, 2], wScales: [0.5, 0.5],
      bias: Int32Array.of(10, -3), outScale: 1, outZp: -1,
      padding: "VALID", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
    });
    expect(Array.from(out.data)).toEqual([7, -1]);
  });
});

for (const build of BUILDS) {
  describe(`DEPTHWISE_CONV_2D on the ${build} build`, () => {
    CASES.forEach(([name, c], i) => {
      it(name, () => check(build, c, 2000 + i));
    });
    // The SIMD 3x3 path (depth multiplier 1, channels a multiple of 8) sweeps whole output rows
    // over a ring of input rows padded with inZp columns, rows outside the input reading inZp.
    it("3x3 borders on small maps (1x1 .. 6x6, SAME and VALID, stride 1 and 2)", () => {
      let seed = 9000;
      for (let h = 1; h <= 6; h++) {
        for (let w = 1; w <= 6; w++) {
          for (const stride of [1, 2]) {
            for (const padding of ["SAME", "VALID"] as const) {
              if (padding === "VALID" && (h < 3 || w < 3)) continue;
              const ic = [8, 16, 24][(h + w) % 3];
              check(build, { kind: "dw", h, w, ic, kh: 3, kw: 3, stride: [stride, stride], padding }, seed++);
            }
          }
        }
      }
    });
    it("3x3 borders: zero points at the int8 extremes, strides and dilations of 1 to 3, batches", () => {
      const shapes: CaseShape[] = [
        { kind: "dw", h: 6, w: 6, ic: 16, kh: 3, kw: 3, inZp: -128, act: "RELU6", outZp: -128 },
        { kind: "dw", h: 6, w: 6, ic: 16, kh: 3, kw: 3, inZp: 127 },
        { kind: "dw", h: 5, w: 3, ic: 8, kh: 3, kw: 3, inZp: 127, stride: [1, 2] },
        { kind: "dw", h: 4, w: 7, ic: 8, kh: 3, kw: 3, stride: [2, 1], inZp: -128 },
        { kind: "dw", h: 9, w: 8, ic: 8, kh: 3, kw: 3, stride: [3, 3] },
        { kind: "dw", h: 7, w: 6, ic: 16, kh: 3, kw: 3, dilation: [2, 3] },
        { kind: "dw", h: 10, w: 9, ic: 8, kh: 3, kw: 3, dilation: [3, 1] },
        { kind: "dw", h: 11, w: 7, ic: 8, kh: 3, kw: 3, dilation: [3, 2], stride: [2, 1] },
        { kind: "dw", h: 3, w: 3, ic: 8, kh: 3, kw: 3, dilation: [2, 2] },
        { kind: "dw", n: 2, h: 4, w: 5, ic: 8, kh: 3, kw: 3 },
        { kind: "dw", n: 3, h: 3, w: 2, ic: 16, kh: 3, kw: 3, stride: [2, 2] },
        { kind: "dw", h: 3, w: 3, ic: 256, kh: 3, kw: 3 },
      ];
      shapes.forEach((c, i) => check(build, c, 9500 + i));
    });
    it("3x3 wide rows and many channels", () => {
      check(build, { kind: "dw", h: 3, w: 40, ic: 64, kh: 3, kw: 3, inZp: 77 }, 9600);
      check(build, { kind: "dw", h: 4, w: 30, ic: 96, kh: 3, kw: 3, stride: [2, 2], inZp: -3 }, 9601);
      check(build, { kind: "dw", h: 2, w: 3, ic: 704, kh: 3, kw: 3, inZp: -100 }, 9602);
    });
    it("randomized shapes (seeded)", () => {
      const r = rng(777);
      for (let t = 0; t < 30; t++) {
        const kh = randInt(r, 1, 5), kw = randInt(r, 1, 5);
        const c: CaseShape = {
          kind: "dw", n: randInt(r, 1, 2), h: randInt(r, kh, 10), w: randInt(r, kw, 10),
          ic: randInt(r, 1, 40), mult: r() < 0.7 ? 1 : randInt(r, 2, 4), kh, kw,
          stride: [randInt(r, 1, 3), randInt(r, 1, 3)], dilation: [randInt(r, 1, 2), randInt(r, 1, 2)],
          padding: r() < 0.5 ? "SAME" : "VALID",
          act: (["NONE", "RELU", "RELU6", "RELU_N1_TO_1"] as const)[randInt(r, 0, 3)],
        };
        if (c.padding === "VALID" && ((kh - 1) * c.dilation![0] + 1 > c.h || (kw - 1) * c.dilation![1] + 1 > c.w)) continue;
        check(build, c, 7000 + t);
      }
    });
  });
}

describe("DEPTHWISE_CONV_2D prepare", () => {
  const base = () => opFor("dw", makeSpec(rng(3), { kind: "dw", h: 4, w: 4, ic: 2, mult: 2, kh: 3, kw: 3 }), [1, 4, 4, 4]);
  it("accepts a rank-1 bias whose quantized_dimension is 3 (person_detect)", () => {
    const u = base();
    expect(u.inputs[2]!.quantization!.quantizedDimension).toBe(3);
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).not.toThrow();
  });
  it("rejects weights quantized along another dimension", () => {
    const u = base();
    const f = u.inputs[1]!;
    u.inputs[1] = tensor(f.shape, TensorType.INT8, { data: f.data!, scale: [0.1, 0.1, 0.1, 0.1], quantizedDimension: 0 });
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).toThrow(/quantized along dimension 0, expected 3/);
  });
  it("rejects a depth_multiplier option that disagrees with the shapes", () => {
    const u = base();
    u.options.depthMultiplier = 3;
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).toThrow(UnsupportedModelError);
  });
  it("rejects output channels that are not a multiple of the input channels", () => {
    const u = base();
    u.inputs[0] = tensor([1, 4, 4, 3], TensorType.INT8, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).toThrow(/not a multiple/);
  });
  it("rejects an int16 output", () => {
    const u = base();
    u.outputs[0] = tensor([1, 4, 4, 4], TensorType.INT16, { scale: [1], zeroPoint: [0] });
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).toThrow(/output must be INT8/);
  });
  it("rejects a filter whose first dimension is not 1", () => {
    const u = base();
    const f = u.inputs[1]!;
    u.inputs[1] = tensor([2, 3, 3, 2], TensorType.INT8, { data: f.data!, scale: [0.1, 0.1], quantizedDimension: 3 });
    expect(() => prepareOnly(prepareDepthwiseConv2d, u)).toThrow(/\[1, KH, KW, C\]/);
  });
});
