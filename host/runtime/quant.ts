// Host-side quantization arithmetic computed once at prepare time, exactly as TFLite does it
// (doubles, frexp, round half away from zero). The per-invoke arithmetic lives in assembly/.
import { Activation, Padding } from "../model/types.js";

/** C/C++ std::round: halves away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** std::frexp for finite x != 0: returns [q, e] with x = q * 2^e and 0.5 <= |q| < 1. */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let q = x * Math.pow(2, -e);
  // Math.log2 may be off by one near powers of two; fix up exactly.
  while (Math.abs(q) < 0.5) { q *= 2; e -= 1; }
  while (Math.abs(q) >= 1) { q /= 2; e += 1; }
  return [q, e];
}

/** TFLite QuantizeMultiplier: real ≈ multiplier * 2^(shift - 31), multiplier in [2^30, 2^31). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  const [q, e] = frexp(real);
  let shift = e;
  let qFixed = roundHalfAway(q * 2147483648);
  if (qFixed === 2147483648) { qFixed /= 2; shift += 1; }
  if (shift < -31) { shift = 0; qFixed = 0; }
  return { multiplier: qFixed, shift };
}

/** float32 quantization of a real value as TFLite's CalculateActivationRangeQuantized does. */
function quantizeF32(f: number, scale: number, zeroPoint: number): number {
  return zeroPoint + roundHalfAway(Math.fround(Math.fround(f) / Math.fround(scale)));
}

/** Clamp bounds for a fused activation on an output of the given type range. */
export function activationRange(
  act: number, scale: number, zeroPoint: number, qmin = -128, qmax = 127,
): { min: number; max: number } {
  switch (act) {
    case Activation.NONE: return { min: qmin, max: qmax };
    case Activation.RELU: return { min: Math.max(qmin, quantizeF32(0, scale, zeroPoint)), max: qmax };
    case Activation.RELU6: return {
      min: Math.max(qmin, quantizeF32(0, scale, zeroPoint)),
      max: Math.min(qmax, quantizeF32(6, scale, zeroPoint)),
    };
    case Activation.RELU_N1_TO_1: return {
      min: Math.max(qmin, quantizeF32(-1, scale, zeroPoint)),
      max: Math.min(qmax, quantizeF32(1, scale, zeroPoint)),
    };
    default: throw new RangeError(`fused activation ${act} is not supported`);
  }
}

/** Output size along one axis (TFLite ComputeOutSize). */
export function outSize(padding: number, inSize: number, filter: number, stride: number, dilation: number): number {
  const eff = (filter - 1) * dilation + 1;
  if (padding === Padding.SAME) return Math.floor((inSize + stride - 1) / stride);
  return Math.floor((inSize - eff + stride) / stride);
}

/** Padding before (top/left) along one axis; SAME may pad one more after than before. */
export function padBefore(padding: number, inSize: number, filter: number, stride: number, dilation: number): number {
  if (padding !== Padding.SAME) return 0;
  const eff = (filter - 1) * dilation + 1;
  const out = outSize(padding, inSize, filter, stride, dilation);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  return Math.floor(total / 2);
}
