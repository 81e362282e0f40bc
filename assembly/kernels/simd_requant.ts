// TFLite's double-rounding MultiplyByQuantizedMultiplier on four int32 lanes at once, with one
// multiplier and shift for all lanes, bit-identical to the scalar version in ../fixedpoint.ts.
// Only valid for multipliers in [0, 2^31) (what QuantizeMultiplier produces), so the one
// saturating case of SaturatingRoundingDoublingHighMul (both operands INT32_MIN) cannot occur.

// (p + nudge) / 2^31 with C's truncating division, on two exact 64-bit products. Only the low
// 32 bits of each lane's quotient are meaningful (they are what the caller keeps). 64-bit
// arithmetic shifts are avoided: x64 has none below AVX-512, so engines emulate them.
// @ts-ignore: decorator
@inline
function highMulLanes(p: v128): v128 {
  const signs = i32x4.shr_s(p, 31);
  const neg = i32x4.shuffle(signs, signs, 1, 1, 3, 3); // all ones where the i64 lane is < 0
  // nudge = p >= 0 ? 2^30 : 1 - 2^30
  const nudge = i64x2.add(i64x2.splat(1 << 30), v128.and(neg, i64x2.splat(1 - (<i64>1 << 31))));
  const t = i64x2.add(p, nudge); // same sign as p (t > 0 when p == 0)
  // Truncating division of a negative t by 2^31: add 2^31 - 1 first. Bits 31..62 of the sum are
  // the quotient's low word whether the shift is logical or arithmetic.
  return i64x2.shr_u(i64x2.add(t, v128.and(neg, i64x2.splat((<i64>1 << 31) - 1))), 31);
}

/** acc * multiplier * 2^shift (double rounding), + zero point, clamped to [lo, hi]; i32 lanes. */
// @ts-ignore: decorator
@inline
export function requantize4(acc: v128, multiplier: i32, shift: i32, zp: i32, lo: i32, hi: i32): v128 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const x = i32x4.shl(acc, left);
  const m = i32x4.splat(multiplier);
  const qLo = highMulLanes(i64x2.extmul_low_i32x4_s(x, m));
  const qHi = highMulLanes(i64x2.extmul_high_i32x4_s(x, m));
  let v = i32x4.shuffle(qLo, qHi, 0, 2, 4, 6); // low words: the quotients fit in int32
  // RoundingDivideByPOT: arithmetic shift, plus one where the remainder passes half (away from 0).
  const mask = (1 << right) - 1;
  const remainder = v128.and(v, i32x4.splat(mask));
  const threshold = i32x4.add(i32x4.splat(mask >> 1), i32x4.shr_u(v, 31));
  v = i32x4.sub(i32x4.shr_s(v, right), i32x4.gt_s(remainder, threshold));
  v = i32x4.add(v, i32x4.splat(zp));
  return i32x4.min_s(i32x4.max_s(v, i32x4.splat(lo)), i32x4.splat(hi));
}

/** Four int32 lanes already within int8 range, narrowed to the low 4 bytes of a vector. */
// @ts-ignore: decorator
@inline
export function narrowToI8(v: v128): v128 {
  const h = i16x8.narrow_i32x4_s(v, v);
  return i8x16.narrow_i16x8_s(h, h);
}
