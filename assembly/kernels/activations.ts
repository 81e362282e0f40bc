// LOGISTIC and TANH, int8 in -> int8 out, exactly as TFLite Micro's reference integer kernels:
// rescale (x - zp) into Q4.27, evaluate gemmlowp's fixed-point logistic / tanh, round to the
// output (logistic: scale 1/256, zero point -128; tanh: scale 1/128, zero point 0).
// Inputs whose magnitude reaches the range radius saturate directly.
//
// Parameter block, both ops (host: host/runtime/ops/activations.ts):
//   0 input        int8 [count]
//   1 output       int8 [count]
//   2 count        number of elements
//   3 inputZp      input zero point
//   4 rangeRadius  |x - zp| >= rangeRadius saturates (CalculateInputRadius(4, leftShift))
//   5 multiplier   Q0.31 multiplier of input_scale * 2^27
//   6 shift        its exponent (MultiplyByQuantizedMultiplier shift, left if > 0)
import { param, multiplyByQuantizedMultiplier, roundingDivideByPOT, clampI32 } from "../fixedpoint";
import { fixedLogistic, fixedTanh } from "../gemmlowp";

const INPUT_INTEGER_BITS: i32 = 4;

export function logistic(p: usize): void {
  activationInt8(p, false);
}

export function tanh(p: usize): void {
  activationInt8(p, true);
}

// Shared body (the two ops differ only in the fixed-point function and the output scale:
// logistic -> 1/256 with zero point -128, tanh -> 1/128 with zero point 0).
// @ts-ignore: decorator
@inline
function activationInt8(p: usize, isTanh: bool): void {
  const input = <usize>param(p, 0);
  const output = <usize>param(p, 1);
  const count = param(p, 2);
  const inputZp = param(p, 3);
  const radius = param(p, 4);
  const multiplier = param(p, 5);
  const shift = param(p, 6);
  for (let i = 0; i < count; i++) {
    const x = <i32>load<i8>(input + <usize>i) - inputZp;
    let q: i32;
    if (x <= -radius) {
      q = -128;
    } else if (x >= radius) {
      q = 127;
    } else {
      const xQ4 = multiplyByQuantizedMultiplier(x, multiplier, shift);
      q = isTanh
        ? clampI32(roundingDivideByPOT(fixedTanh(xQ4, INPUT_INTEGER_BITS), 24), -128, 127) // Q0.31 -> 1/128 steps
        : clampI32(roundingDivideByPOT(fixedLogistic(xQ4, INPUT_INTEGER_BITS), 23) - 128, -128, 127); // -> 1/256 steps
    }
    store<i8>(output + <usize>i, <i8>q);
  }
}
