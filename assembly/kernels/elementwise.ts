// OP_ADD and OP_MUL (int8, inputs with their own scales and zero points).
// Parameter words, OP_ADD:
//   0 input1, 1 input2, 2 output, 3 element count (of the output)
//   4 input1 zero point, 5 input2 zero point, 6 output zero point, 7 activation min, 8 activation max
//   9 left shift (20 for int8)
//   10 input1 multiplier, 11 input1 shift, 12 input2 multiplier, 13 input2 shift,
//   14 output multiplier, 15 output shift
//   16 broadcast (0: same shapes, flat loop; 1: use the 4-D description below)
//   17..20 output dims d0..d3, 21..24 input1 element strides, 25..28 input2 element strides
//          (stride 0 along a broadcast dimension)
//   29 1 when the output may be requantized in float32 (requantize.ts; the host proved
//      |sum * output multiplier| < 2^21), 30 its f32 scale (bits), 31 its f32 half-step (bits)
// OP_MUL:
//   0 input1, 1 input2, 2 output, 3 element count
//   4 input1 zero point, 5 input2 zero point, 6 output zero point, 7 activation min, 8 activation max
//   9 output multiplier, 10 output shift
//   11 broadcast, 12..15 output dims, 16..19 input1 strides, 20..23 input2 strides
// The flat loop reads element i of both inputs before writing element i, so the output may
// share storage with input1 (or input2).
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { narrowToI8, requantize4 } from "./simd_requant";
import { approx8, approxMagicZp, approxTrustedAll } from "./requantize";

// ADD rescales each input on its own before the sum, so each input's rescaled value is a function
// of one int8: for large tensors the kernel tabulates both (256 int32 each, built per call with
// the same arithmetic) and each element costs two lookups plus the output rescale.
const ADD_TABLES: usize = memory.data(2 * 256 * 4, 16);
const ADD_TABLE_MIN_ELEMENTS = 1024;

// @ts-ignore: decorator
@inline
function addInputScaled(x: i32, zp: i32, leftShift: i32, mult: i32, shift: i32): i32 {
  return multiplyByQuantizedMultiplier((x - zp) << leftShift, mult, shift);
}

// @ts-ignore: decorator
@inline
function addOutput(sum: i32, mult: i32, shift: i32, zp: i32, lo: i32, hi: i32): i32 {
  return clampI32(multiplyByQuantizedMultiplier(sum, mult, shift) + zp, lo, hi);
}

function buildAddTables(p: usize): void {
  const leftShift = param(p, 9);
  const zp1 = param(p, 4), m1 = param(p, 10), s1 = param(p, 11);
  const zp2 = param(p, 5), m2 = param(p, 12), s2 = param(p, 13);
  for (let q = -128; q < 128; q++) {
    const off = <usize>(q + 128) << 2;
    store<i32>(ADD_TABLES + off, addInputScaled(q, zp1, leftShift, m1, s1));
    store<i32>(ADD_TABLES + 1024 + off, addInputScaled(q, zp2, leftShift, m2, s2));
  }
}

// Rescaled input value from the tables (x is the raw int8 byte).
// @ts-ignore: decorator
@inline
function table1(x: i32): i32 {
  return load<i32>(ADD_TABLES + (<usize>(x + 128) << 2));
}
// @ts-ignore: decorator
@inline
function table2(y: i32): i32 {
  return load<i32>(ADD_TABLES + 1024 + (<usize>(y + 128) << 2));
}

// TFLM AddFunc: rescale both inputs to a common fixed-point scale, add, rescale to the output.
// @ts-ignore: decorator
@inline
function addOne(x: i32, y: i32, p: usize): i32 {
  const leftShift = param(p, 9);
  const a = addInputScaled(x, param(p, 4), leftShift, param(p, 10), param(p, 11));
  const b = addInputScaled(y, param(p, 5), leftShift, param(p, 12), param(p, 13));
  return addOutput(a + b, param(p, 14), param(p, 15), param(p, 6), param(p, 7), param(p, 8));
}

// TFLM MulElementwise: (x - zp1) * (y - zp2), rescaled once.
// @ts-ignore: decorator
@inline
function mulOne(x: i32, y: i32, p: usize): i32 {
  const prod = (x - param(p, 4)) * (y - param(p, 5));
  const v = multiplyByQuantizedMultiplier(prod, param(p, 9), param(p, 10)) + param(p, 6);
  return clampI32(v, param(p, 7), param(p, 8));
}

export function add(p: usize): void {
  const in1 = <usize>param(p, 0);
  const in2 = <usize>param(p, 1);
  const out = <usize>param(p, 2);
  const n = param(p, 3);
  const tables = n >= ADD_TABLE_MIN_ELEMENTS;
  const om = param(p, 14), os = param(p, 15), oz = param(p, 6), lo = param(p, 7), hi = param(p, 8);
  // The SIMD path computes both rescales in lanes: it needs no tables (building them costs
  // 512 scalar rescales).
  if (ASC_FEATURE_SIMD) {
    if (param(p, 16) == 0 && addSimdApplies(p)) { addSimd(p); return; }
  }
  if (tables) buildAddTables(p);
  if (param(p, 16) == 0) {
    if (tables) {
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        // Four sums per step, gathered from the tables, rescaled together.
        for (; i + 4 <= n; i += 4) {
          const x = in1 + <usize>i;
          const y = in2 + <usize>i;
          let v = i32x4.splat(table1(<i32>load<i8>(x)) + table2(<i32>load<i8>(y)));
          v = i32x4.replace_lane(v, 1, table1(<i32>load<i8>(x, 1)) + table2(<i32>load<i8>(y, 1)));
          v = i32x4.replace_lane(v, 2, table1(<i32>load<i8>(x, 2)) + table2(<i32>load<i8>(y, 2)));
          v = i32x4.replace_lane(v, 3, table1(<i32>load<i8>(x, 3)) + table2(<i32>load<i8>(y, 3)));
          v128.store32_lane(out + <usize>i, narrowToI8(requantize4(v, om, os, oz, lo, hi)), 0);
        }
      }
      for (; i < n; i++) {
        const o = <usize>i;
        const sum = table1(<i32>load<i8>(in1 + o)) + table2(<i32>load<i8>(in2 + o));
        store<i8>(out + o, <i8>addOutput(sum, om, os, oz, lo, hi));
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = <usize>i;
        store<i8>(out + o, <i8>addOne(<i32>load<i8>(in1 + o), <i32>load<i8>(in2 + o), p));
      }
    }
    return;
  }
  const d0 = param(p, 17), d1 = param(p, 18), d2 = param(p, 19), d3 = param(p, 20);
  const a0 = param(p, 21), a1 = param(p, 22), a2 = param(p, 23), a3 = param(p, 24);
  const b0 = param(p, 25), b1 = param(p, 26), b2 = param(p, 27), b3 = param(p, 28);
  let o = out;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        let x = in1 + <usize>(i0 * a0 + i1 * a1 + i2 * a2);
        let y = in2 + <usize>(i0 * b0 + i1 * b1 + i2 * b2);
        for (let i3 = 0; i3 < d3; i3++) {
          const xv = <i32>load<i8>(x);
          const yv = <i32>load<i8>(y);
          const r = tables ? addOutput(table1(xv) + table2(yv), om, os, oz, lo, hi) : addOne(xv, yv, p);
          store<i8>(o, <i8>r);
          x += <usize>a3;
          y += <usize>b3;
          o += 1;
        }
      }
    }
  }
}

// ---- SIMD ADD (same shapes): both input rescales in i32 lanes, exactly --------------------
// TFLM rescales input i as a = RoundingDivideByPOT(SRDHM(d * 2^20, m), e), d = x - zp in
// [-255, 255], m in {0} U [2^30, 2^31), e >= 0. With the left shift of 20:
//   SRDHM(d * 2^20, m) = floor((d*m*2^20 + 2^30) / 2^31) = floor((d*m + 2^10) / 2^11) = v
// (|d * 2^20| < 2^28: no saturation). Split m = mh * 2^11 + ml (0 <= ml < 2^11, mh < 2^20):
// v = d*mh + floor((d*ml + 2^10) / 2^11), where |d*mh| < 2^28 and |d*ml| < 2^19 fit in i32.
// For e >= 1, RoundingDivideByPOT(v, e) = floor((v + 2^(e-1) - [v < 0]) / 2^e), and v < 0
// exactly when d < 0 (m >= 2^30), so with nested floors
//   a = (d*mh + ((d*ml + 2^10 + 2^(10+e)) >> 11) + (d >> 31)) >> e
// (e = 0: a = v, no rounding term). Needs e <= 19 for 2^(10+e) + |d*ml| < 2^31.

// @ts-ignore: decorator
@inline
function addSimdApplies(p: usize): bool {
  const s1 = param(p, 11), s2 = param(p, 13);
  return param(p, 9) == 20 && s1 <= 0 && s1 >= -19 && s2 <= 0 && s2 >= -19;
}

/** The rescaled input (i32 lanes) of d (i32 lanes): mh, ml, c (2^10 + 2^(10+e), or 2^10), signMask (-1 if e >= 1, else 0) as splats. */
// @ts-ignore: decorator
@inline
function rescaleInput(d: v128, mh: v128, ml: v128, c: v128, signMask: v128, e: i32): v128 {
  const v = i32x4.add(i32x4.mul(d, mh), i32x4.shr_s(i32x4.add(i32x4.mul(d, ml), c), 11));
  return i32x4.shr_s(i32x4.add(v, v128.and(i32x4.shr_s(d, 31), signMask)), e);
}

// Loop constants of addSimd, stored before the loop and loaded in it: engines recompute splats
// inside loops (V8's scheduler sinks them), a load from a fixed address is one instruction.
const ADD_K: usize = memory.data(16 * 15, 16);

// @ts-ignore: decorator
@inline
function k(i: i32): v128 { return v128.load(ADD_K + (<usize>i << 4)); }

function addSimd(p: usize): void {
  const in1 = <usize>param(p, 0);
  const in2 = <usize>param(p, 1);
  const out = <usize>param(p, 2);
  const n = param(p, 3);
  const oz = param(p, 6), lo = param(p, 7), hi = param(p, 8);
  const m1 = param(p, 10), e1 = -param(p, 11), m2 = param(p, 12), e2 = -param(p, 13);
  const om = param(p, 14), os = param(p, 15);
  const approx = param(p, 29) != 0;
  v128.store(ADD_K, i16x8.splat(<i16>param(p, 4)));
  v128.store(ADD_K, i16x8.splat(<i16>param(p, 5)), 16);
  v128.store(ADD_K, i32x4.splat(m1 >> 11), 32);
  v128.store(ADD_K, i32x4.splat(m1 & 2047), 48);
  v128.store(ADD_K, i32x4.splat(1024 + (e1 > 0 ? 1 << (10 + e1) : 0)), 64);
  v128.store(ADD_K, i32x4.splat(e1 > 0 ? -1 : 0), 80);
  v128.store(ADD_K, i32x4.splat(m2 >> 11), 96);
  v128.store(ADD_K, i32x4.splat(m2 & 2047), 112);
  v128.store(ADD_K, i32x4.splat(1024 + (e2 > 0 ? 1 << (10 + e2) : 0)), 128);
  v128.store(ADD_K, i32x4.splat(e2 > 0 ? -1 : 0), 144);
  v128.store(ADD_K, i32x4.splat(param(p, 30)), 160);
  v128.store(ADD_K, i32x4.splat(param(p, 31)), 176);
  v128.store(ADD_K, approxMagicZp(oz), 192);
  v128.store(ADD_K, i16x8.splat(<i16>lo), 208);
  v128.store(ADD_K, i16x8.splat(<i16>hi), 224);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const d1 = i16x8.sub(v128.load8x8_s(in1 + <usize>i), k(0));
    const d2 = i16x8.sub(v128.load8x8_s(in2 + <usize>i), k(1));
    const dl1 = i32x4.extend_low_i16x8_s(d1), dh1 = i32x4.extend_high_i16x8_s(d1);
    const dl2 = i32x4.extend_low_i16x8_s(d2), dh2 = i32x4.extend_high_i16x8_s(d2);
    const sl = i32x4.add(rescaleInput(dl1, k(2), k(3), k(4), k(5), e1), rescaleInput(dl2, k(6), k(7), k(8), k(9), e2));
    const sh = i32x4.add(rescaleInput(dh1, k(2), k(3), k(4), k(5), e1), rescaleInput(dh2, k(6), k(7), k(8), k(9), e2));
    if (approx) {
      const v = approx8(sl, sh, k(10), k(10), k(11), k(11), k(12), k(13), k(14));
      if (approxTrustedAll(v)) { v128.store64_lane(out + <usize>i, v, 0); continue; }
    }
    const ql = requantize4(sl, om, os, oz, lo, hi);
    const qh = requantize4(sh, om, os, oz, lo, hi);
    const h = i16x8.narrow_i32x4_s(ql, qh);
    v128.store64_lane(out + <usize>i, i8x16.narrow_i16x8_s(h, h), 0);
  }
  for (; i < n; i++) {
    const o = <usize>i;
    store<i8>(out + o, <i8>addOne(<i32>load<i8>(in1 + o), <i32>load<i8>(in2 + o), p));
  }
}

export function mul(p: usize): void {
  const in1 = <usize>param(p, 0);
  const in2 = <usize>param(p, 1);
  const out = <usize>param(p, 2);
  if (param(p, 11) == 0) {
    const n = param(p, 3);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      // Eight elements per step: (x - zp1) * (y - zp2) is exact in i16 x i16 -> i32.
      const z1 = i16x8.splat(<i16>param(p, 4));
      const z2 = i16x8.splat(<i16>param(p, 5));
      const om = param(p, 9), os = param(p, 10), oz = param(p, 6), lo = param(p, 7), hi = param(p, 8);
      for (; i + 8 <= n; i += 8) {
        const dx = i16x8.sub(v128.load8x8_s(in1 + <usize>i), z1);
        const dy = i16x8.sub(v128.load8x8_s(in2 + <usize>i), z2);
        const q0 = requantize4(i32x4.extmul_low_i16x8_s(dx, dy), om, os, oz, lo, hi);
        const q1 = requantize4(i32x4.extmul_high_i16x8_s(dx, dy), om, os, oz, lo, hi);
        const h = i16x8.narrow_i32x4_s(q0, q1);
        v128.store64_lane(out + <usize>i, i8x16.narrow_i16x8_s(h, h), 0);
      }
    }
    for (; i < n; i++) {
      const o = <usize>i;
      store<i8>(out + o, <i8>mulOne(<i32>load<i8>(in1 + o), <i32>load<i8>(in2 + o), p));
    }
    return;
  }
  const d0 = param(p, 12), d1 = param(p, 13), d2 = param(p, 14), d3 = param(p, 15);
  const a0 = param(p, 16), a1 = param(p, 17), a2 = param(p, 18), a3 = param(p, 19);
  const b0 = param(p, 20), b1 = param(p, 21), b2 = param(p, 22), b3 = param(p, 23);
  let o = out;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        let x = in1 + <usize>(i0 * a0 + i1 * a1 + i2 * a2);
        let y = in2 + <usize>(i0 * b0 + i1 * b1 + i2 * b2);
        for (let i3 = 0; i3 < d3; i3++) {
          store<i8>(o, <i8>mulOne(<i32>load<i8>(x), <i32>load<i8>(y), p));
          x += <usize>a3;
          y += <usize>b3;
          o += 1;
        }
      }
    }
  }
}
