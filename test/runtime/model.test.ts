// The runtime end to end on models the tests build themselves (no ../shared needed):
// loadModel -> plan -> invoke on every kernel build, checked against the TypeScript references.
import { describe, expect, it } from "vitest";
import { loadModel, loadModelSync, InvalidArgumentError, KernelBuildError, MemoryBudgetError, ModelFormatError } from "../../host/index.js";
import { BUILDS, rng, randI8 } from "../helpers/kernel-harness.js";
import { tinyConvGraph, tinyFcGraph } from "../helpers/tflite-builder.js";
import { referenceConv2d, referenceDepthwiseConv2d } from "../reference/conv.js";
import { fullyConnectedRef, refQuantizeMultiplier, refActivationRange } from "../reference/int8-ops.js";
import { refSoftmaxInt8 } from "../reference/softmax.js";
import { findOverlap } from "../../host/plan/arena.js";

/** Expected output of tinyConvGraph (see its doc comment), from the references alone. */
function expectedTinyConv(input: Int8Array): Int8Array {
  const wVals = Int8Array.from({ length: 4 * 3 * 3 * 2 }, (_, i) => ((i * 37) % 255) - 127);
  const conv = referenceConv2d({
    input, inShape: [1, 5, 5, 2], inScale: 1 / 128, inZp: 0,
    filter: wVals, filterShape: [4, 3, 3, 2], wScales: [0.01, 0.02, 0.03, 0.04], bias: Int32Array.of(1, -2, 3, -4),
    outScale: 0.1, outZp: -128, padding: "SAME", strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, act: "RELU6",
  });
  const dw = referenceDepthwiseConv2d({
    input: conv.data, inShape: conv.shape, inScale: 0.1, inZp: -128,
    filter: Int8Array.from({ length: 36 }, (_, i) => i - 18), filterShape: [1, 3, 3, 4],
    wScales: [0.5, 0.25, 0.125, 0.0625], bias: Int32Array.of(0, 0, 0, 0),
    outScale: 0.2, outZp: 3, padding: "VALID", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
  });
  return dw.data; // RESHAPE leaves the bytes as they are
}

function expectedTinyFc(input: Int8Array): Int8Array {
  const { multiplier, shift } = refQuantizeMultiplier((0.5 * 0.25) / 0.75);
  const [lo, hi] = refActivationRange(1, 0.75, 7);
  const logits = fullyConnectedRef({
    input, inZp: -3, weights: Int8Array.of(1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12), bias: Int32Array.of(100, -200, 300),
    batches: 1, inDepth: 4, outDepth: 3, multipliers: [multiplier, multiplier, multiplier], shifts: [shift, shift, shift],
    outZp: 7, lo, hi,
  });
  return refSoftmaxInt8(logits, 3, 1, 0.75);
}

describe("runtime on self-built models", () => {
  const convModel = tinyConvGraph().build();
  const fcModel = tinyFcGraph().build();
  for (const build of BUILDS) {
    it(`${build}: CONV_2D(SAME, stride 2, RELU6) -> DEPTHWISE(VALID) -> RESHAPE matches the references`, async () => {
      const m = await loadModel(convModel, { kernels: build });
      expect(m.kernels).toBe(build);
      const r = rng(11);
      for (let trial = 0; trial < 20; trial++) {
        const x = randI8(r, 50);
        m.input(0).set(x);
        m.invoke();
        expect(Array.from(m.output(0))).toEqual(Array.from(expectedTinyConv(x)));
      }
    });
    it(`${build}: FULLY_CONNECTED(RELU) -> SOFTMAX matches the references`, () => {
      const m = loadModelSync(fcModel, { kernels: build });
      const r = rng(12);
      for (let trial = 0; trial < 50; trial++) {
        const x = randI8(r, 4);
        m.input(0).set(x);
        m.invoke();
        expect(Array.from(m.output(0))).toEqual(Array.from(expectedTinyFc(x)));
      }
    });
  }

  it("RESHAPE shares storage with its input (no copy) and the arena is smaller than the sum of activations", () => {
    const m = loadModelSync(convModel);
    const plan = m.arenaPlan;
    const idx = (name: string) => m.graph.tensors.findIndex((t) => t.name === name);
    const shared = plan.find((e) => e.tensors.length > 1);
    expect([...shared!.tensors].sort()).toEqual([idx("dw/out"), idx("output")].sort());
    // No two buffers alive at once overlap; dw/out+output reuse bytes of buffers already dead.
    const bufs = plan.map((e) => ({ size: e.size, first: e.first, last: e.last }));
    expect(findOverlap(bufs, { offsets: plan.map((e) => e.offset), size: m.memory.arenaBytes })).toBeNull();
    const sum = plan.reduce((s, e) => s + Math.ceil(e.size / 16) * 16, 0);
    expect(m.memory.arenaBytes).toBeLessThan(sum);
    expect(m.memory.wasmMemoryBytes).toBeGreaterThanOrEqual(m.memory.arenaBytes + m.memory.weightBytes);
  });

  it("auto picks the fastest build the engine validates", () => {
    expect(loadModelSync(fcModel).kernels).toBe(BUILDS[BUILDS.length - 1]);
  });

  it("rejects bad requests with typed errors", async () => {
    await expect(loadModel(fcModel, { kernels: "avx512" as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(loadModel(fcModel, { maxMemoryBytes: 1000 })).rejects.toBeInstanceOf(MemoryBudgetError);
    await expect(loadModel(fcModel.subarray(0, 40))).rejects.toBeInstanceOf(ModelFormatError);
    const m = loadModelSync(fcModel);
    expect(() => m.input(1)).toThrow(InvalidArgumentError);
    expect(() => m.output(3)).toThrow(InvalidArgumentError);
    expect(KernelBuildError).toBeDefined();
  });
});
