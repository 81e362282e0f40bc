// Shared helpers for the training tests.
import { expect } from "vitest";
import { TRAIN_BUILDS, chooseTrainBuild, type TrainBuild } from "../../host/train/kernels.js";
import { rng } from "../helpers/kernel-harness.js";
import { Sequential, type ModelSpec } from "../../host/train/model.js";
import { quantizeModel } from "../../host/train/quantize.js";
import { writeModel } from "../../host/model/writer.js";

/** Training builds this engine runs (both on Node 20 x64; scalar only where SIMD is missing). */
export const TRAIN_BUILDS_HERE: TrainBuild[] = TRAIN_BUILDS.filter((b) => {
  try { chooseTrainBuild(b); return b === "scalar" || chooseTrainBuild("auto") === "simd"; } catch { return false; }
});

/** n values uniform in [lo, hi), already rounded to f32 so kernels and references see the same numbers. */
export function randomF32(seed: number, n: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}

/**
 * max |actual - expected| <= tol * max(1, max |expected|). Scaling by the largest expected value
 * keeps one tolerance meaningful for tensors of different magnitudes.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ""): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let scale = 1, worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  expect(worst, `${what}: worst |diff| at ${at}: got ${actual[at]}, expected ${expected[at]}`).toBeLessThanOrEqual(tol * scale);
}


/** conv -> depthwise -> avg pool -> flatten -> dense relu -> dense (+ SOFTMAX): every section layer kind. */
export const TINY_CLASSIFIER: ModelSpec = {
  input: [8, 8, 2],
  layers: [
    { type: "conv2d", filters: 4, kernel: 3, stride: 1, padding: "same", activation: "relu" },
    { type: "depthwise", kernel: 3, stride: 2, padding: "same", activation: "relu" },
    { type: "avgpool", pool: 2, padding: "valid" },
    { type: "flatten" },
    { type: "dense", units: 8, activation: "relu" },
    { type: "dense", units: 4 },
  ],
};

/** A small autoencoder: 12 -> 6 (relu) -> 12, no softmax. */
export const TINY_AUTOENCODER: ModelSpec = {
  input: [12],
  layers: [{ type: "dense", units: 6, activation: "relu" }, { type: "dense", units: 12 }],
};

/** An int8 .tflite from a randomly initialised f32 model, calibrated on uniform [0, 1) samples. */
export function tinyInt8Model(spec: ModelSpec, seed: number, softmax: boolean): Uint8Array {
  const m = new Sequential(spec, { maxBatch: 16, seed });
  const size = spec.input.reduce((a, b) => a * b, 1);
  const count = 32;
  const x = Float32Array.from(randomF32(seed + 100, count * size, 0, 1));
  const q = quantizeModel(m, { x, y: new Int32Array(count), count, sampleSize: size }, { softmax });
  return writeModel(q.desc);
}

/** n random int8 tensors of `size` bytes. */
export function randomInt8(seed: number, n: number, size: number): Int8Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Int8Array.from({ length: size }, () => Math.floor(r() * 256) - 128));
}
