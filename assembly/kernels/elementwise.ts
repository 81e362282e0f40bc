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
// OP_MUL:
//   0 input1, 1 input2, 2 output, 3 element count
//   4 input1 zero point, 5 input2 zero point, 6 output zero point, 7 activation min, 8 activation max
//   9 output multiplier, 10 output shift
//   11 broadcast, 12..15 output dims, 16..19 input1 strides, 20..23 input2 strides
// The flat loop reads element i of both inputs before writing element i, so the output may
// share storage with input1 (or input2).
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { narrowToI8, requantize4 } from "./simd_requant";

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
  if (tables) buildAddTables(p);
  const om = param(p, 14), os = param(p, 15), oz = param(p, 6), lo = param(p, 7), hi = param(p, 8);
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
