// Float <-> int8 helpers for callers that hold real values, with TFLite's rounding
// (float32 division, halves away from zero, then clamp).
import { InvalidArgumentError } from "../errors.js";
import { roundHalfAway } from "./quant.js";

export function quantize(values: ArrayLike<number>, scale: number, zeroPoint: number, out?: Int8Array): Int8Array {
  if (!(scale > 0)) throw new InvalidArgumentError(`scale must be > 0 (got ${scale})`);
  const o = out ?? new Int8Array(values.length);
  if (o.length < values.length) throw new InvalidArgumentError(`output holds ${o.length} values, need ${values.length}`);
  const s = Math.fround(scale);
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfAway(Math.fround(Math.fround(values[i]) / s)) + zeroPoint;
    o[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return o;
}

export function dequantize(values: ArrayLike<number>, scale: number, zeroPoint: number, out?: Float32Array): Float32Array {
  const o = out ?? new Float32Array(values.length);
  if (o.length < values.length) throw new InvalidArgumentError(`output holds ${o.length} values, need ${values.length}`);
  for (let i = 0; i < values.length; i++) o[i] = Math.fround(scale * (values[i] - zeroPoint));
  return o;
}
