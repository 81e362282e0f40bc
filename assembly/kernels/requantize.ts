// Per-output-channel requantization shared by CONV_2D and DEPTHWISE_CONV_2D.
//
// The host (host/runtime/ops/conv_common.ts) builds one table per op for n channels
// (n a multiple of 8, unused entries zero), at a 16-byte aligned address `rq`:
//   rq +  0 .. 8n : f64 2^-e            (e = right shift = max(-shift, 0))
//   rq + 8n .. 12n: i32 multiplier       (QuantizeMultiplier, in [2^30, 2^31) or 0)
//   rq + 12n.. 16n: i32 shift            (TFLite's signed shift)
//   rq + 16n.. 20n: i32 2^max(shift, 0)  (the left shift as a factor)
// The scalar path uses multiplier/shift with assembly/fixedpoint.ts; the SIMD path uses the
// other columns. Both give the bits of TFLite's double-rounding MultiplyByQuantizedMultiplier.
import { multiplyByQuantizedMultiplier, clampI32 } from "../fixedpoint";

// @ts-ignore: decorator
@inline
export function rqMultiplier(rq: usize, n: i32, c: i32): i32 {
  return load<i32>(rq + (<usize>n << 3) + (<usize>c << 2));
}

// @ts-ignore: decorator
@inline
export function rqShift(rq: usize, n: i32, c: i32): i32 {
  return load<i32>(rq + (<usize>n * 12) + (<usize>c << 2));
}

/** Scalar: acc (bias already added) -> clamped output value. */
// @ts-ignore: decorator
@inline
export function requantizeOne(acc: i32, rq: usize, n: i32, c: i32, outZp: i32, actMin: i32, actMax: i32): i32 {
  const v = multiplyByQuantizedMultiplier(acc, rqMultiplier(rq, n, c), rqShift(rq, n, c)) + outZp;
  return clampI32(v, actMin, actMax);
}

// SIMD requantization of 4 consecutive channels c..c+3, exact:
//  1. x = acc * 2^left (i32 wrapping multiply, as the scalar code's `acc * (1 << left)`).
//  2. SaturatingRoundingDoublingHighMul(x, m): for m >= 0 (never INT32_MIN) the C-style
//     truncating (x*m + nudge) / 2^31 equals floor((x*m + 2^30) / 2^31) for both signs, so it is
//     the high word of ((x*m + 2^30) << 1); |x*m| < 2^62 keeps the shift from overflowing.
//  3. RoundingDivideByPOT(s, e) is s / 2^e rounded half away from zero. In f64, s * 2^-e is
//     exact and so is adding +-0.5 (at most 32 significant bits), so it is
//     trunc(s * 2^-e + copysign(0.5, s)).
// @ts-ignore: decorator
@inline
export function requantize4(acc: v128, rq: usize, n: i32, c: i32, outZp: v128, actMin: v128, actMax: v128): v128 {
  const co = <usize>c << 2;
  const x = i32x4.mul(acc, v128.load(rq + (<usize>n << 4) + co));
  const m = v128.load(rq + (<usize>n << 3) + co);
  const half30 = i64x2.splat(1 << 30);
  const lo = i64x2.shl(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), half30), 1);
  const hi = i64x2.shl(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), half30), 1);
  const s = v128.shuffle<i32>(lo, hi, 1, 3, 5, 7);
  const sLo = f64x2.convert_low_i32x4_s(s);
  const sHi = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(s, s, 2, 3, 2, 3));
  const signBit = i64x2.splat(i64.MIN_VALUE);
  const half = f64x2.splat(0.5);
  const sc = rq + (<usize>c << 3);
  const tLo = f64x2.add(f64x2.mul(sLo, v128.load(sc)), v128.or(v128.and(sLo, signBit), half));
  const tHi = f64x2.add(f64x2.mul(sHi, v128.load(sc, 16)), v128.or(v128.and(sHi, signBit), half));
  const r = v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(tLo), i32x4.trunc_sat_f64x2_s_zero(tHi), 0, 1, 4, 5);
  return i32x4.min_s(i32x4.max_s(i32x4.add(r, outZp), actMin), actMax);
}

/** Narrow two i32x4 (already clamped into int8 range) to 8 int8 values in the low half. */
// @ts-ignore: decorator
@inline
export function narrow8(a: v128, b: v128): v128 {
  const h = i16x8.narrow_i32x4_s(a, b);
  return i8x16.narrow_i16x8_s(h, h);
}

/** Store the first `count` (1..8) bytes of v at dst. */
// @ts-ignore: decorator
@inline
export function storeBytes(dst: usize, v: v128, count: i32): void {
  if (count >= 8) { v128.store64_lane(dst, v, 0); return; }
  let w = i64x2.extract_lane(v, 0);
  for (let i = 0; i < count; i++) {
    store<i8>(dst + <usize>i, <i8>w);
    w >>= 8;
  }
}
