// Test reference: TFLite Micro's int8 LOGISTIC (out 1/256, -128) and TANH (out 1/128, 0).
import { mbqm, rdpot, logisticQ, tanhQ, clamp } from "./gemmlowp.js";

/** (multiplier, shift, radius) for input_scale * 2^27 as TFLM's activation prepare. */
export function activationParams(inputScale: number): { mult: number; shift: number; radius: number } {
  let q = Math.fround(inputScale) * 2 ** 27;
  let shift = 0;
  while (q >= 1) { q /= 2; shift++; }
  while (q < 0.5) { q *= 2; shift--; }
  const mult = Math.round(q * 2 ** 31);
  const radius = Math.floor((15 * 2 ** 27) / 2 ** shift);
  return { mult, shift, radius };
}

function refActivation(input: Int8Array, inputScale: number, zp: number, tanh: boolean): Int8Array {
  const { mult, shift, radius } = activationParams(inputScale);
  return Int8Array.from(input, (v) => {
    const x = v - zp;
    if (x <= -radius) return -128;
    if (x >= radius) return 127;
    const xq = mbqm(x, mult, shift);
    return tanh
      ? clamp(rdpot(tanhQ(xq, 4), 24), -128, 127)
      : clamp(rdpot(logisticQ(xq, 4), 23) - 128, -128, 127);
  });
}

export const refLogisticInt8 = (input: Int8Array, scale: number, zp: number) => refActivation(input, scale, zp, false);
export const refTanhInt8 = (input: Int8Array, scale: number, zp: number) => refActivation(input, scale, zp, true);
