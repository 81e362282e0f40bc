// Shared helpers for the training tests.
import { expect } from "vitest";
import { TRAIN_BUILDS, chooseTrainBuild, type TrainBuild } from "../../host/train/kernels.js";
import { rng } from "../helpers/kernel-harness.js";

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
