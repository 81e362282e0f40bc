// FULLY_CONNECTED with per-tensor weights requantizes in float32 when the host proves the range
// (assembly/kernels/requantize.ts): every accumulator of a 256-wide window around TFLite's
// double-rounding boundaries must give the BigInt reference's bits. One input, weight 1, input
// zero point 0 and 256 batches x = -128..127 make acc = bias[row] + x.
import { describe, it } from "vitest";
import { prepareFullyConnected } from "../../host/runtime/ops/fully_connected.js";
import { TensorType } from "../../host/model/types.js";
import { BUILDS, randInt, rng } from "../helpers/kernel-harness.js";
import { asI8, op, runOp, tensor } from "../helpers/prepare-harness.js";
import { fullyConnectedRef, refQuantizeMultiplier } from "../reference/int8-ops.js";

const ROWS = 14;
const input = Int8Array.from({ length: 256 }, (_, i) => i - 128);

function check(build: (typeof BUILDS)[number], real: number, bias: Int32Array, outZp: number): void {
  const t = [
    tensor({ index: 0, shape: [256, 1], scale: 1, zeroPoint: 0 }),
    tensor({ index: 1, shape: [ROWS, 1], data: new Int8Array(ROWS).fill(1), scale: [real], zeroPoint: [0] }),
    tensor({ index: 2, type: TensorType.INT32, shape: [ROWS], data: bias, scale: [real] }),
    tensor({ index: 3, shape: [256, ROWS], scale: 1, zeroPoint: outZp }),
  ];
  const o = op({ opName: "FULLY_CONNECTED", inputs: [0, 1, 2], outputs: [3],
    options: { fusedActivationFunction: 0, keepNumDims: false, weightsFormat: 0 } });
  const got = asI8(runOp(build, prepareFullyConnected, t, o, { 0: input })[3]);
  const { multiplier, shift } = refQuantizeMultiplier(real);
  const want = fullyConnectedRef({ input, inZp: 0, weights: new Int8Array(ROWS).fill(1), bias, batches: 256,
    inDepth: 1, outDepth: ROWS, multipliers: new Array(ROWS).fill(multiplier), shifts: new Array(ROWS).fill(shift),
    outZp, lo: -128, hi: 127 });
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      throw new Error(`${build}: real ${real}, x ${Math.floor(i / ROWS) - 128}, row ${i % ROWS} (bias ${bias[i % ROWS]}): `
        + `got ${got[i]}, expected ${want[i]}`);
    }
  }
}

for (const build of BUILDS) {
  describe(`FULLY_CONNECTED float32 requantization, ${build} build`, () => {
    it("windows around double-rounding boundaries for right shifts 0..25", () => {
      const r = rng(55);
      for (const e of [0, 1, 1, 2, 3, 5, 7, 8, 10, 13, 17, 21, 25]) {
        for (const q of [0.5, 0.75, 0.5 + r() * 0.5]) {
          const real = q * 2 ** -e;
          const m = refQuantizeMultiplier(real).multiplier;
          const half = e >= 1 ? 2 ** -(e + 1) : 0;
          const bias = Int32Array.from({ length: ROWS }, (_, row) => {
            const k = row === 0 ? 0 : randInt(r, -140, 140);
            const z = k - 0.5 - (k > 0 ? half : -half);
            const acc = Math.round((z * 2 ** (31 + e)) / m) + randInt(r, -100, 100);
            return row === 0 ? 0 : Math.max(-(2 ** 31) + 200, Math.min(2 ** 31 - 200, acc));
          });
          check(build, real, bias, randInt(r, -128, 127));
        }
      }
    });
  });
}
