// OP_QUANTIZE: float32 -> int8, or int8 -> int8 requantization.
//   0 mode (0: float32 input, 1: int8 input)
//   1 input, 2 output (int8), 3 element count, 4 output zero point
//   mode 0: 5 output scale as float32 bits
//   mode 1: 5 multiplier, 6 shift (input_scale / output_scale), 7 input zero point
// OP_DEQUANTIZE: int8 -> float32.
//   0 input, 1 output (float32), 2 element count, 3 zero point, 4 scale as float32 bits
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";

export function quantize(p: usize): void {
  const mode = param(p, 0);
  const input = <usize>param(p, 1);
  const output = <usize>param(p, 2);
  const n = param(p, 3);
  const zp = param(p, 4);
  if (mode == 0) {
    const scale = reinterpret<f32>(param(p, 5));
    for (let i = 0; i < n; i++) {
      // TFLM: round(val / scale) in float32, halves away from zero, + zero point, clamp.
      const q = roundHalfAwayToI32(load<f32>(input + (<usize>i << 2)) / scale);
      store<i8>(output + <usize>i, <i8>clampI32(q + zp, -128, 127));
    }
  } else {
    const mult = param(p, 5);
    const shift = param(p, 6);
    const inZp = param(p, 7);
    for (let i = 0; i < n; i++) {
      const v = multiplyByQuantizedMultiplier(<i32>load<i8>(input + <usize>i) - inZp, mult, shift) + zp;
      store<i8>(output + <usize>i, <i8>clampI32(v, -128, 127));
    }
  }
}

// std::round on a float, then to int32. Values beyond +-2^30 only matter through the int8
// clamp that follows, so they are saturated there; NaN is taken as 0 (C leaves both undefined).
// @ts-ignore: decorator
@inline
function roundHalfAwayToI32(v: f32): i32 {
  if (!(v == v)) return 0;
  if (v >= <f32>1073741824) return 1073741824;
  if (v <= <f32>-1073741824) return -1073741824;
  const t = Mathf.trunc(v);
  const frac = Mathf.abs(v - t); // exact for float32
  let r = <i32>t;
  if (frac >= <f32>0.5) r += v < 0 ? -1 : 1;
  return r;
}

export function dequantize(p: usize): void {
  const input = <usize>param(p, 0);
  const output = <usize>param(p, 1);
  const n = param(p, 2);
  const zp = param(p, 3);
  // TFLM multiplies in double (the float32 scale widened) and rounds the product to float32 once.
  const scale = <f64>reinterpret<f32>(param(p, 4));
  for (let i = 0; i < n; i++) {
    const q = <i32>load<i8>(input + <usize>i) - zp;
    store<f32>(output + (<usize>i << 2), <f32>(scale * <f64>q));
  }
}
