// Per-output-channel requantization shared by CONV_2D and DEPTHWISE_CONV_2D.
//
// The host (host/runtime/ops/conv_common.ts, requantTable) builds one table per op for n channels
// (n a multiple of 8, unused entries zero) at a 16-byte aligned address `rq`:
//   rq + 0: i32 E        common shift: FAST_SHIFT (21) when the fast path applies, else max e
//                        (e = max(-shift, 0))
//   rq + 4: i32 fast     1 if 1 <= e <= 21 wherever the multiplier is not 0: the fast SIMD
//                        path is exact (see requantize4)
//   rq + 8: i32 left     1 if some channel has shift > 0
//   rq + 12: i32 approx  1 if the float32 path applies (see "float32 requantization" below)
//   then, at t = rq + 16, one column of n entries each:
//   t + 0  .. 8n : f64 2^-e
//   t + 8n .. 12n: i32 multiplier       (QuantizeMultiplier, in [2^30, 2^31) or 0)
//   t + 12n.. 16n: i32 shift            (TFLite's signed shift)
//   t + 16n.. 20n: i32 2^max(shift, 0)  (the left shift as a factor)
//   t + 20n.. 24n: i32 2^(e + 9)        (fast path: clamp bound)
//   t + 24n.. 28n: i32 -2^(e + 9)
//   t + 28n.. 32n: i32 2^(E - e)        (fast path: aligns every channel on the shift E)
//   t + 32n.. 40n: float32 path, per group of 8 channels 64 bytes: 8 x f32 m * 2^-(31 + e) (the
//                  channel's scale, rounded to float32), then 8 x f32 h (2^-(e+1); 0 for e = 0
//                  or multiplier 0)
// The scalar path uses multiplier/shift with assembly/fixedpoint.ts; the SIMD paths the other
// columns. All give the bits of TFLite's double-rounding MultiplyByQuantizedMultiplier.
import { roundingDivideByPOT, clampI32 } from "../fixedpoint";

export const RQ_HEADER: usize = 16;
/** The common shift E of the fast path (host: FAST_SHIFT in conv_common.ts). */
export const FAST_SHIFT = 21;

// @ts-ignore: decorator
@inline
export function rqMultiplier(rq: usize, n: i32, c: i32): i32 {
  return load<i32>(rq + RQ_HEADER + (<usize>n << 3) + (<usize>c << 2));
}

// @ts-ignore: decorator
@inline
export function rqShift(rq: usize, n: i32, c: i32): i32 {
  return load<i32>(rq + RQ_HEADER + (<usize>n * 12) + (<usize>c << 2));
}

/**
 * Scalar: acc (bias already added) -> clamped output value. TFLite's MultiplyByQuantizedMultiplier
 * (assembly/fixedpoint.ts) with its C-style division by 2^31 written as a shift: for a
 * multiplier m >= 0, trunc((x*m + nudge) / 2^31) == (x*m + 2^30) >> 31 for both signs of x*m
 * (see requantize4), and the saturating case (x == m == INT32_MIN) cannot occur.
 */
// @ts-ignore: decorator
@inline
export function requantizeOne(acc: i32, rq: usize, n: i32, c: i32, outZp: i32, actMin: i32, actMax: i32): i32 {
  const shift = rqShift(rq, n, c);
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const x = acc * (1 << left);
  const s = <i32>((<i64>x * <i64>rqMultiplier(rq, n, c) + (1 << 30)) >> 31);
  const v = roundingDivideByPOT(s, right) + outZp;
  return clampI32(v, actMin, actMax);
}

/** Fast-path flag of a table (see the header above). */
// @ts-ignore: decorator
@inline
export function rqFast(rq: usize): bool { return load<i32>(rq, 4) != 0; }
/** Left-shift flag of a table. */
// @ts-ignore: decorator
@inline
export function rqLeft(rq: usize): bool { return load<i32>(rq, 8) != 0; }
/** The fast path's rounding term with the zero point folded in: 2^(E-1) + outZp * 2^E. */
// @ts-ignore: decorator
@inline
export function rqRoundZp(rq: usize, outZp: i32): v128 {
  const e = load<i32>(rq);
  return i32x4.splat((1 << (e - 1)) + (outZp << e));
}

// SIMD requantization of 4 consecutive channels c..c+3 up to and including the output zero
// point; the activation clamp follows in narrowClamp8. Exact:
//  1. x = acc * 2^left (i32 wrapping multiply, as the scalar code's `acc * (1 << left)`).
//  2. SaturatingRoundingDoublingHighMul(x, m): for m >= 0 (never INT32_MIN) the C-style
//     truncating (x*m + nudge) / 2^31 equals floor((x*m + 2^30) / 2^31) for both signs, so it is
//     the high word of ((x*m + 2^30) << 1); |x*m| < 2^62 keeps the shift from overflowing.
//  3. RoundingDivideByPOT(s, e) is s / 2^e rounded half away from zero (RHA), then + outZp.
//     Fast path (host-checked: 1 <= e <= 21 for every channel with a multiplier): |s| >= 2^(e+9)
//     gives |RHA(s / 2^e)| >= 512, which saturates whatever the zero point, so s may be clamped
//     to +-2^(e+9) first (e >= 1 also means "+ outZp" cannot wrap in the scalar code). Then
//     s' = s * 2^(E-e) is exact and RHA(s / 2^e) = RHA(s' / 2^E) = (s' + 2^(E-1) - (s' < 0)) >> E:
//     one shift for all lanes; adding outZp * 2^E before the shift folds in the zero point.
//     With E = 21: |s'| <= 2^30 and |outZp * 2^E| <= 2^28, so nothing overflows.
//     General path: in f64, s * 2^-e is exact and so is adding +-0.5 (at most 32 significant
//     bits), so RHA = trunc(s * 2^-e + copysign(0.5, s)); "+ outZp" wraps like the scalar code.
// Arguments: the table `rq` and its channel count nc; fast, left and roundZp from the
// rq* helpers above (hoisted out of the loops by the caller); outZp as a splat.
// @ts-ignore: decorator
@inline
export function requantize4(
  acc: v128, rq: usize, nc: i32, c: i32, fast: bool, left: bool, roundZp: v128, outZp: v128,
): v128 {
  const n = <usize>nc;
  const t = rq + RQ_HEADER;
  const co = <usize>c << 2;
  let x = acc;
  if (left) x = i32x4.mul(x, v128.load(t + (n << 4) + co));
  const m = v128.load(t + (n << 3) + co);
  const half30 = i64x2.splat(1 << 30);
  const lo = i64x2.shl(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), half30), 1);
  const hi = i64x2.shl(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), half30), 1);
  const s = v128.shuffle<i32>(lo, hi, 1, 3, 5, 7);
  if (fast) {
    const bounded = i32x4.max_s(i32x4.min_s(s, v128.load(t + (n * 20) + co)), v128.load(t + (n * 24) + co));
    const aligned = i32x4.mul(bounded, v128.load(t + (n * 28) + co));
    return i32x4.shr_s(i32x4.add(i32x4.add(aligned, roundZp), i32x4.shr_s(aligned, 31)), FAST_SHIFT);
  }
  const sLo = f64x2.convert_low_i32x4_s(s);
  const sHi = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(s, s, 2, 3, 2, 3));
  const signBit = i64x2.splat(i64.MIN_VALUE);
  const half = f64x2.splat(0.5);
  const sc = t + (<usize>c << 3);
  const tLo = f64x2.add(f64x2.mul(sLo, v128.load(sc)), v128.or(v128.and(sLo, signBit), half));
  const tHi = f64x2.add(f64x2.mul(sHi, v128.load(sc, 16)), v128.or(v128.and(sHi, signBit), half));
  const rr = v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(tLo), i32x4.trunc_sat_f64x2_s_zero(tHi), 0, 1, 4, 5);
  return i32x4.add(rr, outZp);
}

// The fast path of requantize4 with the channel constants already in registers (loaded once
// per channel group with rqConst): m multiplier, hi/lo the clamp bounds, al the alignment.
// @ts-ignore: decorator
@inline
export function requantize4Fast(acc: v128, m: v128, hi: v128, lo: v128, al: v128, roundZp: v128): v128 {
  const half30 = i64x2.splat(1 << 30);
  const pl = i64x2.shl(i64x2.add(i64x2.extmul_low_i32x4_s(acc, m), half30), 1);
  const ph = i64x2.shl(i64x2.add(i64x2.extmul_high_i32x4_s(acc, m), half30), 1);
  const s = v128.shuffle<i32>(pl, ph, 1, 3, 5, 7);
  const aligned = i32x4.mul(i32x4.max_s(i32x4.min_s(s, hi), lo), al);
  return i32x4.shr_s(i32x4.add(i32x4.add(aligned, roundZp), i32x4.shr_s(aligned, 31)), FAST_SHIFT);
}

/** Column k of the table for channels c..c+3: 0 multiplier, 1 upper bound, 2 lower bound, 3 alignment. */
// @ts-ignore: decorator
@inline
export function rqConst(rq: usize, nc: i32, c: i32, k: i32): v128 {
  const n = <usize>nc;
  return v128.load(rq + RQ_HEADER + (n << 3) + n * (k == 0 ? 0 : <usize>(8 + 4 * k)) + (<usize>c << 2));
}

/**
 * Narrow two i32x4 to 8 int8 values (low half), clamped to [actMin, actMax] (i16x8 splats).
 * The i16 narrowing saturates, which keeps the order, so clamping after it is the same.
 */
// @ts-ignore: decorator
@inline
export function narrowClamp8(a: v128, b: v128, actMin: v128, actMax: v128): v128 {
  const h = i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(a, b), actMin), actMax);
  return i8x16.narrow_i16x8_s(h, h);
}

/** Store the first `count` (1..8) bytes of v at dst. */
// @ts-ignore: decorator
@inline
export function storeBytes(dst: usize, v: v128, count: i32): void {
  if (count >= 8) {
    v128.store64_lane(dst, v, 0);
  } else {
    let w = i64x2.extract_lane(v, 0);
    for (let i = 0; i < count; i++) {
      store<i8>(dst + <usize>i, <i8>w);
      w >>= 8;
    }
  }
}

/** Store the first `count` (1..8) bytes of v's high half at dst. */
// @ts-ignore: decorator
@inline
export function storeBytesHigh(dst: usize, v: v128, count: i32): void {
  if (count >= 8) v128.store64_lane(dst, v, 1);
  else storeBytes(dst, i64x2.splat(i64x2.extract_lane(v, 1)), count);
}

// ---- float32 requantization (checked, with the exact path as fallback) ----------------------
// TFLite's result, for a channel without left shift (e = right shift >= 0), is
//   E = RHA(u / 2^e),  u = floor((acc*m + 2^30) / 2^31)   (SaturatingRoundingDoublingHighMul,
// RHA = RoundingDivideByPOT: round half away from zero). For e >= 1, RHA(u/2^e) =
// floor((u + 2^(e-1) - [u<0]) / 2^e), and nesting the two floors gives one:
//   E = floor(w + 1/2),  w = z + h*sign,  z = acc*m / 2^(31+e),  h = 2^-(e+1),
// sign = -1 if u < 0 else +1. For e = 0, E = u = floor(z + 1/2): h = 0. u < 0 exactly when
// acc < 0, except acc = -1 with m = 2^30 (u = 0): then w = -2^-e, and floor(w + 1/2) = 0 = E
// for e >= 1 anyway. A zero multiplier has h = 0 (E = 0).
// The kernel computes w~ = f32(f32(f32(acc) * s) + copysign(h, acc)), s = f32(m * 2^-(31+e)):
// four float32 roundings, so |w~ - w| <= 2^-22 |z| + 2^-24 |w| < 2^-12 while |w~| <= 384.
// Then y = f32(w~ + c), c = 3072 + outZp + 1/2 + 2^-11 (exact in float32). While |w~| <= 384,
// y lies in [2048, 4096), where float32 values are the multiples of 2^-12, so y - 3072 =: v has
// 12 fractional bits, the bits of y are 0x45000000 + (y - 2048) * 2^12, and
//   floor(v) = (bits(y) >> 12) - 0x45400,   frac12 = bits(y) & 0xfff (v's fraction * 2^12).
// v = V + 2^-11 + d with V = w + outZp + 1/2 and |d| < 2^-12 + 2^-13 (w~'s error plus y's
// rounding). A lane is trusted when frac12 >= 4 (bits(y) & 0xffc != 0): then
// V lies in (floor(v) + 2^-13, floor(v) + 1 - 3*2^-13), so E + outZp = floor(V) = floor(v)
// (any |d| <= 2^-11 would do: V stays in [floor(v), floor(v) + 1 - 2^-12]).
//  - |w~| > 384 (trusted or not): |w| > 383.9 and |w~ - w| < 1 (the host proves |z| < 2^21, see
//    requantTable), so E + outZp and floor(v) leave the int8 range on the same side
//    (|outZp| <= 128); the clamp equates them. floor(v) computed from the bits stays monotonic
//    outside [2048, 4096) (bits of negative y are negative as int32; nothing overflows).
// Lanes with frac12 < 4 (~0.1%) are recomputed with the exact path (a whole vector or tile).
/** Float32-path flag of a table. */
// @ts-ignore: decorator
@inline
export function rqApprox(rq: usize): bool { return load<i32>(rq, 12) != 0; }

/** c of the float32 path with the output zero point folded in, as a float32 splat. */
// @ts-ignore: decorator
@inline
export function approxMagicZp(outZp: i32): v128 { return f32x4.splat(<f32>3072.5 + <f32>outZp + <f32>0.00048828125); }

/** Float32 scale s (k = 0) or half-step h (k = 1) of channels c..c+3 (c a multiple of 4). */
// @ts-ignore: decorator
@inline
export function approxConst(rq: usize, nc: i32, c: i32, k: i32): v128 {
  return v128.load(approxColumns(rq, nc, c & ~7) + (<usize>k << 5) + (<usize>(c & 4) << 2));
}

/** The float32 constants of the group of 8 channels at c: scales at +0 and +16, half-steps at +32 and +48. */
// @ts-ignore: decorator
@inline
export function approxColumns(rq: usize, nc: i32, c: i32): usize {
  return rq + RQ_HEADER + (<usize>nc << 5) + (<usize>c << 3);
}

/**
 * The constants of the float32 path in the data segment: a load from a fixed address is one
 * instruction, while engines rematerialize SIMD constants inside loops. k0 sign bit, k1 the
 * fraction bits checked (0xffc), k2 bits(3072) >> 12.
 */
const APPROX_K: usize = memory.data<i32>([
  i32.MIN_VALUE, i32.MIN_VALUE, i32.MIN_VALUE, i32.MIN_VALUE,
  0xffc, 0xffc, 0xffc, 0xffc,
  0x45400, 0x45400, 0x45400, 0x45400,
], 16);

// @ts-ignore: decorator
@inline
export function approxK(k: i32): v128 {
  return v128.load(APPROX_K + (<usize>k << 4));
}

/**
 * y = f32(f32(f32(acc) * s + copysign(h, acc)) + c), as its bits (see above). The relaxed build
 * computes f32(f32(acc) * s + f32(c + copysign(h, acc))) with f32x4.relaxed_madd, fused or not:
 * |y - (V + 3072 + 2^-11)| <= 2^-14.4 (s, product) + 2^-13 (c + h) + 2^-13 (y) < 2^-11, which
 * the trust rule tolerates, so both builds give the same bytes.
 */
// @ts-ignore: decorator
@inline
export function approxY(acc: v128, s: v128, h: v128, c: v128): v128 {
  const hs = v128.or(v128.and(acc, approxK(0)), h);
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(f32x4.convert_i32x4_s(acc), s, f32x4.add(c, hs));
  return f32x4.add(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), s), hs), c);
}

/** floor(v) = E + outZp where trusted (i32 lanes, not yet clamped). */
// @ts-ignore: decorator
@inline
export function approxValue(y: v128): v128 { return i32x4.sub(i32x4.shr_s(y, 12), approxK(2)); }

/** Nonzero in the lanes that are trusted. */
// @ts-ignore: decorator
@inline
export function approxFrac(y: v128): v128 { return v128.and(y, approxK(1)); }

/**
 * 8 channels of one pixel (accumulators a, b; float32 scales sa, sb and half-steps ha, hb of
 * their two halves; c from approxMagicZp), requantized, clamped (actMin, actMax: i16x8 splats)
 * and narrowed: bytes 0..7 hold the results, bytes 8..15 are nonzero where the lane was trusted
 * (approxTrustedAll), else the caller must use the exact path.
 */
// @ts-ignore: decorator
@inline
export function approx8(
  a: v128, b: v128, sa: v128, sb: v128, ha: v128, hb: v128, c: v128, actMin: v128, actMax: v128,
): v128 {
  const ya = approxY(a, sa, ha, c);
  const yb = approxY(b, sb, hb, c);
  const h = i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(approxValue(ya), approxValue(yb)), actMin), actMax);
  // The checked fraction bits are at most 0xffc: the i16 narrowing keeps them, the i8 one keeps
  // zero as zero and makes anything else positive.
  return i8x16.narrow_i16x8_s(h, i16x8.narrow_i32x4_s(approxFrac(ya), approxFrac(yb)));
}

/** Whether approx8's result is usable. */
// @ts-ignore: decorator
@inline
export function approxTrustedAll(v: v128): bool {
  return (i8x16.bitmask(i8x16.eq(v, i64x2.splat(0))) >> 8) == 0;
}

/**
 * 8 channels c..c+7 of one pixel (accumulators a, b), requantized, clamped and narrowed to the
 * low 8 bytes: the float32 path when every lane is trusted, else the exact requantize4.
 * (Loads its constants: for the less frequent loops.)
 */
// @ts-ignore: decorator
@inline
export function requantize8(
  a: v128, b: v128, rq: usize, nc: i32, c: i32, approx: bool, magicZp: v128,
  fast: bool, left: bool, roundZp: v128, outZp: v128, actMin: v128, actMax: v128,
): v128 {
  if (approx) {
    const v = approx8(a, b, approxConst(rq, nc, c, 0), approxConst(rq, nc, c + 4, 0),
      approxConst(rq, nc, c, 1), approxConst(rq, nc, c + 4, 1), magicZp, actMin, actMax);
    if (approxTrustedAll(v)) return v;
  }
  return narrowClamp8(
    requantize4(a, rq, nc, c, fast, left, roundZp, outZp),
    requantize4(b, rq, nc, c + 4, fast, left, roundZp, outZp), actMin, actMax);
}
