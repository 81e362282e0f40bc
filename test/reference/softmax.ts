// Test reference: TFLite Micro's int8 SOFTMAX (int8 out, scale 1/256, zero point -128),
// parameters derived from (beta, input scale) the way TFLite's prepare does.
import { quantizeMultiplierPair } from "./tflite-quant.js";
import { srdhm, rdpot, expNeg, oneOverOnePlusX, clamp, wrap } from "./gemmlowp.js";

export const refQuantizeMultiplier = quantizeMultiplierPair;

export function softmaxParams(beta: number, inputScale: number): { mult: number; shift: number; diffMin: number } {
  const real = Math.min(beta * inputScale * 2 ** 26, 2 ** 31 - 1);
  const [mult, shift] = refQuantizeMultiplier(real);
  const radius = Math.floor((31 * 2 ** 26) / 2 ** shift);
  return { mult, shift, diffMin: -radius };
}

export function refSoftmaxInt8(input: Int8Array, depth: number, beta: number, inputScale: number): Int8Array {
  const { mult, shift, diffMin } = softmaxParams(Math.fround(beta), Math.fround(inputScale));
  const out = new Int8Array(input.length);
  const expOf = (d: number) => expNeg(srdhm(wrap(d * 2 ** shift), mult), 5);
  for (let r = 0; r * depth < input.length; r++) {
    const row = input.subarray(r * depth, (r + 1) * depth);
    const max = Math.max(...row);
    let sum = 0;
    for (const v of row) if (v - max >= diffMin) sum = wrap(sum + rdpot(expOf(v - max), 12));
    // GetReciprocal(sum, 12 integer bits)
    const lz = Math.clz32(sum);
    const bitsOverUnit = 12 - lz;
    const scaledMinusOne = wrap(Number((BigInt(sum) << BigInt(lz)) & 0xffffffffn) - 2 ** 31);
    const recip = oneOverOnePlusX(scaledMinusOne);
    const exponent = Math.min(bitsOverUnit + 23, 31);
    row.forEach((v, c) => {
      out[r * depth + c] = v - max >= diffMin ? clamp(rdpot(srdhm(recip, expOf(v - max)), exponent) - 128, -128, 127) : -128;
    });
  }
  return out;
}
