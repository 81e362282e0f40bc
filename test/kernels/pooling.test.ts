// AVERAGE_POOL_2D / MAX_POOL_2D through the host prepare and the kernel, on every build, against
// the plain TypeScript reference and a few hand-derived values.
import { describe, expect, it } from "vitest";
import { prepareAveragePool2d, prepareMaxPool2d } from "../../host/runtime/ops/pooling.js";
import { Padding } from "../../host/model/types.js";
import { BUILDS, randI8, randInt, rng } from "../helpers/kernel-harness.js";
import { asI8, op, prepareOp, runOp, tensor } from "../helpers/prepare-harness.js";
import { poolRef, refActivationRange } from "../reference/int8-ops.js";

interface PoolCase {
  batches: number; inH: number; inW: number; channels: number;
  fH: number; fW: number; sH: number; sW: number; padding: number; act: number;
  scale: number; zp: number; input: Int8Array;
}

/** Output size and leading pad, from the TFLite definitions (written out here independently). */
function geometry(inN: number, f: number, s: number, padding: number): { out: number; pad: number } {
  if (padding === Padding.VALID) return { out: Math.floor((inN - f) / s) + 1, pad: 0 };
  const out = Math.ceil(inN / s);
  const total = Math.max((out - 1) * s + f - inN, 0);
  return { out, pad: Math.floor(total / 2) };
}

function runPool(build: (typeof BUILDS)[number], c: PoolCase, isMax: boolean): Int8Array {
  const gh = geometry(c.inH, c.fH, c.sH, c.padding);
  const gw = geometry(c.inW, c.fW, c.sW, c.padding);
  const t = [
    tensor({ index: 0, shape: [c.batches, c.inH, c.inW, c.channels], scale: c.scale, zeroPoint: c.zp }),
    tensor({ index: 1, shape: [c.batches, gh.out, gw.out, c.channels], scale: c.scale, zeroPoint: c.zp }),
  ];
  const o = op({ opName: isMax ? "MAX_POOL_2D" : "AVERAGE_POOL_2D", inputs: [0], outputs: [1], options: {
    padding: c.padding, strideH: c.sH, strideW: c.sW, filterHeight: c.fH, filterWidth: c.fW,
    fusedActivationFunction: c.act,
  } });
  return asI8(runOp(build, isMax ? prepareMaxPool2d : prepareAveragePool2d, t, o, { 0: c.input })[1]);
}

function expected(c: PoolCase, isMax: boolean): Int8Array {
  const gh = geometry(c.inH, c.fH, c.sH, c.padding);
  const gw = geometry(c.inW, c.fW, c.sW, c.padding);
  const [lo, hi] = refActivationRange(c.act, c.scale, c.zp);
  return poolRef({ input: c.input, batches: c.batches, inH: c.inH, inW: c.inW, channels: c.channels,
    outH: gh.out, outW: gw.out, fH: c.fH, fW: c.fW, sH: c.sH, sW: c.sW, padT: gh.pad, padL: gw.pad, lo, hi }, isMax);
}

function randomCase(r: () => number): PoolCase {
  const inH = randInt(r, 1, 9);
  const inW = randInt(r, 1, 9);
  const padding = r() < 0.5 ? Padding.SAME : Padding.VALID;
  const fH = randInt(r, 1, padding === Padding.VALID ? inH : 4);
  const fW = randInt(r, 1, padding === Padding.VALID ? inW : 4);
  const batches = randInt(r, 1, 2);
  const channels = randInt(r, 1, 40);
  const zp = [-128, 127, 0, randInt(r, -128, 127)][randInt(r, 0, 3)];
  return {
    batches, inH, inW, channels, fH, fW, sH: randInt(r, 1, 3), sW: randInt(r, 1, 3), padding,
    act: [0, 1, 2, 3][randInt(r, 0, 3)], scale: [0.02, 0.1, 1][randInt(r, 0, 2)], zp,
    input: randI8(r, batches * inH * inW * channels),
  };
}

for (const build of BUILDS) {
  describe(`pooling (${build})`, () => {
    for (const isMax of [false, true]) {
      const name = isMax ? "MAX_POOL_2D" : "AVERAGE_POOL_2D";
      it(`${name}: 80 random cases (SAME windows partly outside, strides, channel tails)`, () => {
        const r = rng(isMax ? 2 : 1);
        for (let i = 0; i < 80; i++) {
          const c = randomCase(r);
          expect(Array.from(runPool(build, c, isMax)), `case ${i}: ${JSON.stringify({ ...c, input: 0 })}`)
            .toEqual(Array.from(expected(c, isMax)));
        }
      });
      it(`${name}: whole-map windows as in KWS (25x5x64) and IC (8x8x64)`, () => {
        const r = rng(isMax ? 4 : 3);
        for (const [h, w] of [[25, 5], [8, 8]]) {
          const c: PoolCase = { batches: 1, inH: h, inW: w, channels: 64, fH: h, fW: w, sH: 1, sW: 1,
            padding: Padding.VALID, act: 0, scale: 0.05, zp: -128, input: randI8(r, h * w * 64) };
          expect(Array.from(runPool(build, c, isMax))).toEqual(Array.from(expected(c, isMax)));
        }
      });
    }

    it("AVERAGE_POOL_2D rounds halves away from zero (hand-derived)", () => {
      // One 2x1 window per channel: sums 3, -3, 1, -1, 0, 5, -5, 2 over 2 cells.
      const a = [1, -1, 0, 0, 0, 2, -2, 1];
      const b = [2, -2, 1, -1, 0, 3, -3, 1];
      const input = Int8Array.from([...a, ...b]);
      const c: PoolCase = { batches: 1, inH: 2, inW: 1, channels: 8, fH: 2, fW: 1, sH: 1, sW: 1,
        padding: Padding.VALID, act: 0, scale: 1, zp: 0, input };
      // 1.5 -> 2, -1.5 -> -2, 0.5 -> 1, -0.5 -> -1, 0 -> 0, 2.5 -> 3, -2.5 -> -3, 1 -> 1
      expect(Array.from(runPool(build, c, false))).toEqual([2, -2, 1, -1, 0, 3, -3, 1]);
    });

    it("SAME 3x3 on a 2x2 map counts only the cells inside (hand-derived)", () => {
      // Every window covers the whole 2x2 map: average of 10, 20, 30, 41 = 25.25 -> 25; max 41.
      const c: PoolCase = { batches: 1, inH: 2, inW: 2, channels: 1, fH: 3, fW: 3, sH: 1, sW: 1,
        padding: Padding.SAME, act: 0, scale: 1, zp: 0, input: Int8Array.from([10, 20, 30, 41]) };
      expect(Array.from(runPool(build, c, false))).toEqual([25, 25, 25, 25]);
      expect(Array.from(runPool(build, c, true))).toEqual([41, 41, 41, 41]);
    });
  });
}

describe("pooling prepare", () => {
  const tensors = (outScale: number, outZp: number, outShape = [1, 1, 1, 4]) => [
    tensor({ index: 0, shape: [1, 2, 2, 4], scale: 0.5, zeroPoint: 3 }),
    tensor({ index: 1, shape: outShape, scale: outScale, zeroPoint: outZp }),
  ];
  const o = op({ opName: "AVERAGE_POOL_2D", inputs: [0], outputs: [1],
    options: { padding: Padding.VALID, strideH: 1, strideW: 1, filterHeight: 2, filterWidth: 2, fusedActivationFunction: 0 } });
  it("rejects different input/output quantization, as TFLM", () => {
    expect(() => prepareOp(prepareAveragePool2d, tensors(0.6, 3), o)).toThrow(/quantization must match/);
    expect(() => prepareOp(prepareMaxPool2d, tensors(0.5, 4), o)).toThrow(/quantization must match/);
  });
  it("accepts a scale difference within 1e-6, as TFLM", () => {
    expect(() => prepareOp(prepareAveragePool2d, tensors(0.5 + 5e-7, 3), o)).not.toThrow();
  });
  it("rejects an output shape that the options do not produce", () => {
    expect(() => prepareOp(prepareAveragePool2d, tensors(0.5, 3, [1, 2, 1, 4]), o)).toThrow(/output shape/);
  });
});
