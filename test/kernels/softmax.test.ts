// SOFTMAX int8: host prepare + kernel against the TypeScript reference (random rows, several
// betas and input scales), against float softmax (within 1 LSB), and against the TFLite Micro
// golden SOFTMAX layers of the MLPerf Tiny models (input = the previous layer's golden output).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUILDS, KernelHarness, rng, randI8, randInt } from "../helpers/kernel-harness.js";
import { SHARED } from "../helpers/shared.js";
import { TensorType } from "../../host/model/types.js";
import { prepareSoftmax, preprocessSoftmaxScaling, calculateInputRadius } from "../../host/runtime/ops/softmax.js";
import { UnsupportedModelError } from "../../host/errors.js";
import { makeTensors, PreparedOpRunner, type TensorSpec } from "./prepare-harness.js";
import { refSoftmaxInt8, softmaxParams } from "../reference/softmax.js";

function runSoftmax(k: KernelHarness, input: Int8Array, shape: number[], inScale: number, inZp: number, beta: number,
  outSpec: Partial<TensorSpec> = {}): Int8Array {
  const tensors = makeTensors([
    { type: TensorType.INT8, shape, scale: inScale, zeroPoint: inZp },
    { type: TensorType.INT8, shape, scale: 1 / 256, zeroPoint: -128, ...outSpec },
  ]);
  const r = new PreparedOpRunner(k, prepareSoftmax, tensors, { inputs: [0], outputs: [1], options: { beta } });
  const inAddr = r.addr(0); // may grow memory: take the address before the buffer
  new Int8Array(k.k.memory.buffer, inAddr, input.length).set(input);
  r.run();
  return k.readI8(r.addr(1), input.length);
}

describe("SOFTMAX prepare arithmetic", () => {
  it("matches the reference derivation of multiplier, shift and diff_min", () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const scale = Math.fround(2 ** (-8 + 10 * r()));
      const beta = Math.fround([1, 0.5, 2, 0.1 + r()][i % 4]);
      const p = preprocessSoftmaxScaling(beta, scale, 5);
      const ref = softmaxParams(beta, scale);
      expect([p.multiplier, p.leftShift, -calculateInputRadius(5, p.leftShift)]).toEqual([ref.mult, ref.shift, ref.diffMin]);
    }
  });
  it("gives the hand-derived values for beta 1, scale 1/16", () => {
    // 1/16 * 2^26 = 2^22 = 0.5 * 2^23 -> multiplier 2^30, shift 23; radius floor(31 * 2^26 / 2^23) = 248
    expect(preprocessSoftmaxScaling(1, 1 / 16, 5)).toEqual({ multiplier: 2 ** 30, leftShift: 23 });
    expect(calculateInputRadius(5, 23)).toBe(248);
  });
});

describe.each(BUILDS)("SOFTMAX int8 kernel (%s)", (build) => {
  const k = new KernelHarness(build);

  it("matches the reference on random rows over the whole int8 range", () => {
    const r = rng(1234);
    const cases: Array<[number, number]> = [
      [0.0039, 1], [0.0625, 1], [0.1447, 1], [0.5, 1], [1.0, 1], [0.17185, 0.5], [0.02, 2], [3.0, 1], [0.08, 0.25],
    ];
    for (const [scale, beta] of cases) {
      for (const depth of [1, 2, 3, 10, 12, 37, 200]) {
        const rows = randInt(r, 1, 4);
        const lo = randInt(r, -128, 0);
        const hi = randInt(r, lo, 127);
        const input = randI8(r, rows * depth, lo, hi);
        const got = runSoftmax(k, input, [rows, depth], scale, randInt(r, -20, 20), beta);
        const want = refSoftmaxInt8(input, depth, beta, scale);
        expect(Array.from(got), `scale ${scale} beta ${beta} depth ${depth}`).toEqual(Array.from(want));
      }
    }
  });

  it("is within 1 LSB of float softmax", () => {
    const r = rng(99);
    for (let t = 0; t < 30; t++) {
      const depth = randInt(r, 2, 40);
      const scale = 2 ** (-6 + 6 * r());
      const input = randI8(r, depth);
      const got = runSoftmax(k, input, [1, depth], scale, 0, 1);
      const fs = Math.fround(scale);
      const max = Math.max(...input);
      const e = Array.from(input, (v) => Math.exp((v - max) * fs));
      const s = e.reduce((a, b) => a + b, 0);
      e.forEach((x, i) => expect(Math.abs(got[i] - (Math.round((x / s) * 256) - 128))).toBeLessThanOrEqual(1));
    }
  });

  it("gives 0 (= probability 1/2) for two equal logits and -128 far below the maximum", () => {
    expect(Array.from(runSoftmax(k, Int8Array.of(5, 5), [1, 2], 0.1, 0, 1))).toEqual([0, 0]);
    // A difference of 255 * 1.0 is far beyond exp's range: the small one is exactly -128.
    expect(Array.from(runSoftmax(k, Int8Array.of(127, -128), [1, 2], 1.0, 0, 1))).toEqual([127, -128]);
  });

  it("rejects an output that is not (1/256, -128) and a non-int8 input", () => {
    const input = new Int8Array(4);
    expect(() => runSoftmax(k, input, [1, 4], 0.1, 0, 1, { zeroPoint: 0 })).toThrow(UnsupportedModelError);
    expect(() => runSoftmax(k, input, [1, 4], 0.1, 0, 1, { scale: 1 / 128 })).toThrow(UnsupportedModelError);
    const tensors = makeTensors([
      { type: TensorType.INT16, shape: [1, 4], scale: 0.1 },
      { type: TensorType.INT8, shape: [1, 4], scale: 1 / 256, zeroPoint: -128 },
    ]);
    expect(() => new PreparedOpRunner(k, prepareSoftmax, tensors, { inputs: [0], outputs: [1], options: { beta: 1 } }))
      .toThrow(/INT8/);
  });
});

interface LayerEntry {
  op: string; options: Record<string, number> | null; input_tensors: number[]; output_tensor: number;
  file: string; shape: number[]; scale: number; zero_point: number;
}

const LAYER_CASES = ["kws01_sample", "ic_person_downscaled", "vww01_person_gray2rgb"];

describe.skipIf(!SHARED).each(BUILDS)("SOFTMAX golden TFLite Micro layers (%s)", (build) => {
  const k = new KernelHarness(build);
  for (const name of LAYER_CASES) {
    it(`${name}: reproduces the SOFTMAX layer from the previous layer's golden bytes`, () => {
      const dir = join(SHARED!, "models", "mlperf-tiny", "golden-tflm", "layers", name);
      const layers = (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { layers: LayerEntry[] }).layers;
      const i = layers.findIndex((l) => l.op === "SOFTMAX");
      expect(i).toBeGreaterThan(0);
      const sm = layers[i];
      const prev = layers.find((l) => l.output_tensor === sm.input_tensors[0])!;
      const input = new Int8Array(readFileSync(join(dir, prev.file)));
      const golden = new Int8Array(readFileSync(join(dir, sm.file)));
      const got = runSoftmax(k, input, prev.shape, prev.scale, prev.zero_point, sm.options!.beta);
      expect(Array.from(got)).toEqual(Array.from(golden));
    });
  }
});
