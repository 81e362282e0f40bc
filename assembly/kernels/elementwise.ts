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

// TFLM AddFunc: rescale both inputs to a common fixed-point scale, add, rescale to the output.
// @ts-ignore: decorator
@inline
function addOne(x: i32, y: i32, p: usize): i32 {
  const leftShift = param(p, 9);
  const a = multiplyByQuantizedMultiplier((x - param(p, 4)) << leftShift, param(p, 10), param(p, 11));
  const b = multiplyByQuantizedMultiplier((y - param(p, 5)) << leftShift, param(p, 12), param(p, 13));
  const sum = multiplyByQuantizedMultiplier(a + b, param(p, 14), param(p, 15)) + param(p, 6);
  return clampI32(sum, param(p, 7), param(p, 8));
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
  if (param(p, 16) == 0) {
    const n = param(p, 3);
    for (let i = 0; i < n; i++) {
      const o = <usize>i;
      store<i8>(out + o, <i8>addOne(<i32>load<i8>(in1 + o), <i32>load<i8>(in2 + o), p));
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
          store<i8>(o, <i8>addOne(<i32>load<i8>(x), <i32>load<i8>(y), p));
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
    for (let i = 0; i < n; i++) {
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
