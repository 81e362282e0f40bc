// SOFTMAX, int8 in -> int8 out (scale 1/256, zero point -128), along the last dimension,
// exactly as TFLite Micro's reference kernel computes it (gemmlowp fixed point).
//
// Parameter block (host: host/runtime/ops/softmax.ts):
//   0 input       int8 [rows * depth]
//   1 output      int8 [rows * depth]
//   2 rows        number of rows (product of all but the last dimension)
//   3 depth       size of the last dimension
//   4 multiplier  input_beta_multiplier (PreprocessSoftmaxScaling, Q5.26 target)
//   5 leftShift   input_beta_left_shift (>= 0)
//   6 diffMin     -CalculateInputRadius(5, leftShift): differences below it give exp = 0
import { param, saturatingRoundingDoublingHighMul, roundingDivideByPOT, clampI32 } from "../fixedpoint";
import { expOnNegativeValues, getReciprocal, reciprocalBitsOverUnit } from "../gemmlowp";

const SCALED_DIFF_INTEGER_BITS: i32 = 5;
const ACCUMULATION_INTEGER_BITS: i32 = 12;

// exp((x - max) * beta * scale) in Q0.31 for a difference already known to be >= diffMin.
// @ts-ignore: decorator
@inline
function expOfDiff(diff: i32, multiplier: i32, leftShift: i32): i32 {
  // MultiplyByQuantizedMultiplierGreaterThanOne: no right shift, no rounding after the mul.
  const scaled = saturatingRoundingDoublingHighMul(diff * (1 << leftShift), multiplier);
  return expOnNegativeValues(scaled, SCALED_DIFF_INTEGER_BITS);
}

export function softmax(p: usize): void {
  const input = <usize>param(p, 0);
  const output = <usize>param(p, 1);
  const rows = param(p, 2);
  const depth = param(p, 3);
  const multiplier = param(p, 4);
  const leftShift = param(p, 5);
  const diffMin = param(p, 6);

  for (let r = 0; r < rows; r++) {
    const rowIn = input + <usize>(r * depth);
    const rowOut = output + <usize>(r * depth);
    let maxInRow: i32 = -128;
    for (let c = 0; c < depth; c++) {
      const v = <i32>load<i8>(rowIn + <usize>c);
      if (v > maxInRow) maxInRow = v;
    }

    // Sum of exps in Q12.19.
    let sumOfExps: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(rowIn + <usize>c) - maxInRow;
      if (diff >= diffMin) {
        const e = expOfDiff(diff, multiplier, leftShift);
        sumOfExps += roundingDivideByPOT(e, ACCUMULATION_INTEGER_BITS); // Q0 -> Q12
      }
    }

    const shiftedScale = getReciprocal(sumOfExps, ACCUMULATION_INTEGER_BITS);
    // TFLite Micro aborts when the exponent leaves [0, 31] (a row with 512+ near-maximal
    // entries); clamping keeps the kernel total instead.
    const exponent = min(reciprocalBitsOverUnit + 31 - 8, 31);

    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(rowIn + <usize>c) - maxInRow;
      let q: i32 = -128;
      if (diff >= diffMin) {
        const e = expOfDiff(diff, multiplier, leftShift);
        const unsat = roundingDivideByPOT(saturatingRoundingDoublingHighMul(shiftedScale, e), exponent);
        q = clampI32(unsat - 128, -128, 127);
      }
      store<i8>(rowOut + <usize>c, <i8>q);
    }
  }
}
