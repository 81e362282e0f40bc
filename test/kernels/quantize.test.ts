// QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32) through the host
// prepare and the kernel, on every build: hand-derived values and the plain reference.
import { describe, expect, it } from "vitest";
import { prepareDequantize, prepareQuantize } from "../../host/runtime/ops/quantize.js";
import { TensorType } from "../../host/model/types.js";
import { BUILDS, randI8, randInt, rng } from "../helpers/kernel-harness.js";
import { asF32, asI8, op, prepareOp, runOp, tensor } from "../helpers/prepare-harness.js";
import { dequantizeRef, quantizeRef, requantizeRef } from "../reference/int8-ops.js";

function quantize(build: (typeof BUILDS)[number], x: Float32Array, scale: number, zp: number): Int8Array {
  const t = [
    tensor({ index: 0, type: TensorType.FLOAT32, shape: [x.length] }),
    tensor({ index: 1, shape: [x.length], scale, zeroPoint: zp }),
  ];
  return asI8(runOp(build, prepareQuantize, t, op({ opName: "QUANTIZE", inputs: [0], outputs: [1] }), { 0: x })[1]);
}

function requantize(build: (typeof BUILDS)[number], x: Int8Array, si: number, zi: number, so: number, zo: number) {
  const t = [
    tensor({ index: 0, shape: [x.length], scale: si, zeroPoint: zi }),
    tensor({ index: 1, shape: [x.length], scale: so, zeroPoint: zo }),
  ];
  return asI8(runOp(build, prepareQuantize, t, op({ opName: "QUANTIZE", inputs: [0], outputs: [1] }), { 0: x })[1]);
}

function dequantize(build: (typeof BUILDS)[number], x: Int8Array, scale: number, zp: number): Float32Array {
  const t = [
    tensor({ index: 0, shape: [1, x.length], scale, zeroPoint: zp }),
    tensor({ index: 1, type: TensorType.FLOAT32, shape: [1, x.length] }),
  ];
  return asF32(runOp(build, prepareDequantize, t, op({ opName: "DEQUANTIZE", inputs: [0], outputs: [1] }), { 0: x })[1]);
}

for (const build of BUILDS) {
  describe(`QUANTIZE / DEQUANTIZE (${build})`, () => {
    it("float32 -> int8 rounds halves away from zero and clamps (hand-derived)", () => {
      // scale 0.5, zp -10: x / 0.5 = 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, -1.5 -> -2, 2.4 -> 2, -2.6 -> -3
      const x = Float32Array.from([0.25, -0.25, 0.75, -0.75, 1.2, -1.3, 0, -0, 1000, -1000, Infinity, -Infinity]);
      expect(Array.from(quantize(build, x, 0.5, -10)))
        .toEqual([-9, -11, -8, -12, -8, -13, -10, -10, 127, -128, 127, -128]);
    });

    it("float32 -> int8 matches the reference on random and boundary values", () => {
      const r = rng(41);
      const scale = 0.00392055; // test_conv_model's input scale
      const vals: number[] = [];
      for (let i = 0; i < 400; i++) vals.push((r() * 2 - 1) * 0.6);
      for (let k = -140; k <= 140; k++) vals.push((k + 0.5) * scale, (k - 0.5) * scale, k * scale);
      const x = Float32Array.from(vals);
      for (const zp of [-128, 0, 127]) {
        expect(Array.from(quantize(build, x, scale, zp))).toEqual(Array.from(quantizeRef(x, scale, zp)));
      }
    });

    it("int8 -> int8 requantization matches the reference (scales up, down, equal)", () => {
      const r = rng(42);
      const x = randI8(r, 256);
      for (const [si, zi, so, zo] of [[0.1, 3, 0.05, -7], [0.02, -128, 0.3, 127], [0.5, 0, 0.5, 0], [1, 127, 0.001, -128]]) {
        expect(Array.from(requantize(build, x, si, zi, so, zo))).toEqual(Array.from(requantizeRef(x, si, zi, so, zo)));
      }
    });

    it("int8 -> float32 computes float(double(scale) * (q - zp))", () => {
      const x = Int8Array.from({ length: 256 }, (_, i) => i - 128);
      for (const [scale, zp] of [[0.00304807, 16], [0.1, -128], [1 / 3, 127]]) {
        const got = dequantize(build, x, scale, zp);
        expect(Array.from(got)).toEqual(Array.from(dequantizeRef(x, scale, zp)));
      }
      // Hand-derived: scale 0.25, zp 1: q = 5 -> 1.0, q = -3 -> -1.0
      expect(Array.from(dequantize(build, Int8Array.from([5, -3]), 0.25, 1))).toEqual([1, -1]);
    });

    it("int8 -> float32 matches the reference for random float32 scales and zero points", () => {
      const r = rng(43);
      for (let i = 0; i < 5; i++) {
        const scale = Math.fround(r() * 0.01 + 1e-4);
        const zp = randInt(r, -128, 127);
        const x = randI8(r, 64);
        expect(Array.from(dequantize(build, x, scale, zp))).toEqual(Array.from(dequantizeRef(x, scale, zp)));
      }
    });
  });
}

describe("QUANTIZE / DEQUANTIZE prepare", () => {
  it("rejects int16 output and float input to DEQUANTIZE", () => {
    const t = [
      tensor({ index: 0, type: TensorType.FLOAT32, shape: [4] }),
      tensor({ index: 1, type: TensorType.INT16, shape: [4], scale: 0.1, zeroPoint: 0 }),
    ];
    expect(() => prepareOp(prepareQuantize, t, op({ inputs: [0], outputs: [1] }))).toThrow(/int8 QUANTIZE/);
    const d = [
      tensor({ index: 0, type: TensorType.FLOAT32, shape: [4] }),
      tensor({ index: 1, type: TensorType.FLOAT32, shape: [4] }),
    ];
    expect(() => prepareOp(prepareDequantize, d, op({ inputs: [0], outputs: [1] }))).toThrow(/DEQUANTIZE/);
  });
  it("rejects per-channel output quantization", () => {
    const t = [
      tensor({ index: 0, type: TensorType.FLOAT32, shape: [2] }),
      tensor({ index: 1, shape: [2], scale: [0.1, 0.2], zeroPoint: [0, 0] }),
    ];
    expect(() => prepareOp(prepareQuantize, t, op({ inputs: [0], outputs: [1] }))).toThrow(/per tensor/);
  });
});
