// TFLite / gemmlowp integer primitives, exactly as TFLite Micro's reference kernels use them
// (double-rounding build, TFLITE_SINGLE_ROUNDING off). See ../shared/notes/int8-arithmetic.md.

// gemmlowp SaturatingRoundingDoublingHighMul: (a*b*2 + round) >> 32, saturating the one
// overflow case a == b == INT32_MIN.
// @ts-ignore: decorator
@inline
export function saturatingRoundingDoublingHighMul(a: i32, b: i32): i32 {
  if (a == b && a == i32.MIN_VALUE) return i32.MAX_VALUE;
  const ab: i64 = <i64>a * <i64>b;
  // TFLite: nudge = ab >= 0 ? 2^30 : 1 - 2^30, then C-style truncating division by 2^31.
  // For every ab that equals floor((ab + 2^30) / 2^31), i.e. one arithmetic shift: no 64-bit
  // division (slow, above all in the scalar build).
  return <i32>((ab + (<i64>1 << 30)) >> 31);
}

// gemmlowp RoundingDivideByPOT: arithmetic shift right with round-half-away-from-zero.
// @ts-ignore: decorator
@inline
export function roundingDivideByPOT(x: i32, exponent: i32): i32 {
  const mask: i32 = (1 << exponent) - 1;
  const remainder: i32 = x & mask;
  const threshold: i32 = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLite MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^shift.
// @ts-ignore: decorator
@inline
export function multiplyByQuantizedMultiplier(x: i32, multiplier: i32, shift: i32): i32 {
  const leftShift: i32 = shift > 0 ? shift : 0;
  const rightShift: i32 = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x * (1 << leftShift), multiplier), rightShift);
}

// Clamp an i32 into [lo, hi].
// @ts-ignore: decorator
@inline
export function clampI32(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : x > hi ? hi : x;
}

// Read parameter word k of an op block.
// @ts-ignore: decorator
@inline
export function param(p: usize, k: i32): i32 {
  return load<i32>(p + (<usize>k << 2));
}
