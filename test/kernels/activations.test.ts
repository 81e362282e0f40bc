// LOGISTIC and TANH int8: host prepare + kernel against the TypeScript reference for every int8
// input under many input scales / zero points, against float math within 1 LSB, and against
// hand-derived saturation and midpoint values.
import { describe, expect, it } from "vitest";
import { BUILDS, KernelHarness, rng, randInt } from "../helpers/kernel-harness.js";
import { TensorType } from "../../host/model/types.js";
import { prepareLogistic, prepareTanh, activationInputParams } from "../../host/runtime/ops/activations.js";
import type { OpPrepare } from "../../host/runtime/ops/types.js";
import { UnsupportedModelError } from "../../host/errors.js";
import { makeTensors, PreparedOpRunner } from "./prepare-harness.js";
import { refLogisticInt8, refTanhInt8, activationParams } from "../reference/activations.js";

const ALL_INT8 = Int8Array.from({ length: 256 }, (_, i) => i - 128);

function runActivation(k: KernelHarness, prepare: OpPrepare, input: Int8Array, inScale: number, inZp: number,
  outScale: number, outZp: number): Int8Array {
  const tensors = makeTensors([
    { type: TensorType.INT8, shape: [1, input.length], scale: inScale, zeroPoint: inZp },
    { type: TensorType.INT8, shape: [1, input.length], scale: outScale, zeroPoint: outZp },
  ]);
  const r = new PreparedOpRunner(k, prepare, tensors, { inputs: [0], outputs: [1] });
  const inAddr = r.addr(0); // may grow memory: take the address before the buffer
  new Int8Array(k.k.memory.buffer, inAddr, input.length).set(input);
  r.run();
  return k.readI8(r.addr(1), input.length);
}

const SCALES = [0.0387753, 0.001, 0.00390625, 0.01, 0.03, 0.0625, 0.1, 0.25, 0.5, 1.0, 2.0, 8.0];

describe("LOGISTIC / TANH prepare arithmetic", () => {
  it("matches the reference derivation over a sweep of scales", () => {
    const r = rng(5);
    for (let i = 0; i < 300; i++) {
      const s = Math.fround(2 ** (-12 + 16 * r()));
      const p = activationInputParams(s);
      const ref = activationParams(s);
      expect([p.multiplier, p.shift, p.rangeRadius]).toEqual([ref.mult, ref.shift, ref.radius]);
    }
  });
  it("gives the hand-derived values for dtln's LOGISTIC input scale 1/16", () => {
    // 2^-4 * 2^27 = 2^23 = 0.5 * 2^24 -> multiplier 2^30, shift 24, radius floor(15 * 2^27 / 2^24) = 120
    expect(activationInputParams(1 / 16)).toEqual({ multiplier: 2 ** 30, shift: 24, rangeRadius: 120 });
  });
});

describe.each(BUILDS)("LOGISTIC / TANH int8 kernels (%s)", (build) => {
  const k = new KernelHarness(build);

  it("LOGISTIC matches the reference for every int8 input, many scales and zero points", () => {
    const r = rng(11);
    for (const s of SCALES) {
      for (const zp of [-128, -2, 0, 37, randInt(r, -128, 127)]) {
        const got = runActivation(k, prepareLogistic, ALL_INT8, s, zp, 1 / 256, -128);
        expect(Array.from(got), `scale ${s} zp ${zp}`).toEqual(Array.from(refLogisticInt8(ALL_INT8, s, zp)));
      }
    }
  });

  it("TANH matches the reference for every int8 input, many scales and zero points", () => {
    const r = rng(12);
    for (const s of SCALES) {
      for (const zp of [-128, 0, 5, 100, randInt(r, -128, 127)]) {
        const got = runActivation(k, prepareTanh, ALL_INT8, s, zp, 1 / 128, 0);
        expect(Array.from(got), `scale ${s} zp ${zp}`).toEqual(Array.from(refTanhInt8(ALL_INT8, s, zp)));
      }
    }
  });

  it("are within 1 LSB of float logistic / tanh", () => {
    for (const s of [0.0387753, 0.02, 0.1]) {
      const lg = runActivation(k, prepareLogistic, ALL_INT8, s, -2, 1 / 256, -128);
      const th = runActivation(k, prepareTanh, ALL_INT8, s, -2, 1 / 128, 0);
      ALL_INT8.forEach((v, i) => {
        const x = Math.fround(s) * (v + 2);
        const lf = Math.min(127, Math.round(256 / (1 + Math.exp(-x))) - 128);
        const tf = Math.max(-128, Math.min(127, Math.round(128 * Math.tanh(x))));
        expect(Math.abs(lg[i] - lf), `logistic ${v}`).toBeLessThanOrEqual(1);
        expect(Math.abs(th[i] - tf), `tanh ${v}`).toBeLessThanOrEqual(1);
      });
    }
  });

  it("give the midpoint at the zero point and saturate beyond the radius", () => {
    // x = zp: logistic 1/2 -> 0; tanh 0 -> 0. Scale 1: 2^27 = 0.5 * 2^28, radius
    // floor(15 * 2^27 / 2^28) = 7, so |x - zp| >= 7 saturates.
    expect(Array.from(runActivation(k, prepareLogistic, Int8Array.of(3, 10, -4, 127, -128), 1, 3, 1 / 256, -128)))
      .toEqual([0, 127, -128, 127, -128]);
    expect(Array.from(runActivation(k, prepareTanh, Int8Array.of(3, 10, -4, 127, -128), 1, 3, 1 / 128, 0)))
      .toEqual([0, 127, -128, 127, -128]);
  });

  it("reject outputs that are not (1/256, -128) / (1/128, 0)", () => {
    expect(() => runActivation(k, prepareLogistic, ALL_INT8, 0.1, 0, 1 / 256, 0)).toThrow(UnsupportedModelError);
    expect(() => runActivation(k, prepareLogistic, ALL_INT8, 0.1, 0, 1 / 128, -128)).toThrow(UnsupportedModelError);
    expect(() => runActivation(k, prepareTanh, ALL_INT8, 0.1, 0, 1 / 128, -128)).toThrow(UnsupportedModelError);
  });
});
