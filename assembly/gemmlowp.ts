// gemmlowp fixed-point math (exp, 1/(1+x), logistic, tanh) on raw int32 values, with the exact
// rounding and saturation of gemmlowp's scalar FixedPoint<int32_t, N> (as vendored by TFLite
// Micro). A value with N integer bits has raw = real * 2^(31 - N). Integer bits are passed as a
// plain argument; every function is inlined into its caller.
import { saturatingRoundingDoublingHighMul, roundingDivideByPOT } from "./fixedpoint";

const RAW_ONE_Q0: i32 = i32.MAX_VALUE; // "1.0" with 0 integer bits saturates to INT32_MAX

// x * 2^exponent for exponent > 0, saturating. gemmlowp saturates whenever |x| exceeds
// 2^(31-exponent) - 1, so -2^(31-exponent) saturates too although it would be representable.
// @ts-ignore: decorator
@inline
export function saturatingShiftLeft(x: i32, exponent: i32): i32 {
  const threshold: i32 = (1 << (31 - exponent)) - 1;
  if (x > threshold) return i32.MAX_VALUE;
  if (x < -threshold) return i32.MIN_VALUE;
  return x << exponent;
}

// Change the number of integer bits from `srcBits` to `dstBits` (gemmlowp Rescale).
// @ts-ignore: decorator
@inline
export function rescale(x: i32, srcBits: i32, dstBits: i32): i32 {
  const e = srcBits - dstBits;
  if (e > 0) return saturatingShiftLeft(x, e);
  if (e < 0) return roundingDivideByPOT(x, -e);
  return x;
}

// (a + b) / 2 rounded half away from zero, computed without overflow.
// @ts-ignore: decorator
@inline
export function roundingHalfSum(a: i32, b: i32): i32 {
  const sum: i64 = <i64>a + <i64>b;
  const sign: i64 = sum >= 0 ? 1 : -1;
  return <i32>((sum + sign) / 2); // truncating division, as in C
}

// exp(a) for a in [-1/4, 0), Q0.31 in and out: 4th-order Taylor expansion around -1/8.
// @ts-ignore: decorator
@inline
function expOnIntervalNegQuarterTo0(a: i32): i32 {
  const expMinusOneEighth: i32 = 1895147668; // exp(-1/8)
  const oneThird: i32 = 715827883;
  const x: i32 = a + (1 << 28); // a + 1/8
  const x2 = saturatingRoundingDoublingHighMul(x, x);
  const x3 = saturatingRoundingDoublingHighMul(x2, x);
  const x4 = saturatingRoundingDoublingHighMul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT(saturatingRoundingDoublingHighMul(x4Over4 + x3, oneThird) + x2, 1);
  return expMinusOneEighth + saturatingRoundingDoublingHighMul(expMinusOneEighth, x + poly);
}

// exp(a) for a <= 0, with `integerBits` integer bits in; result in Q0.31.
// The input is split into a multiple of 1/4 and a remainder in [-1/4, 0); each set bit of the
// multiple multiplies the result by a constant exp(-2^k).
export function expOnNegativeValues(a: i32, integerBits: i32): i32 {
  const fractionalBits = 31 - integerBits;
  const oneQuarter: i32 = 1 << (fractionalBits - 2);
  const mask: i32 = oneQuarter - 1;
  const aModQuarterMinusQuarter: i32 = (a & mask) - oneQuarter;
  let result = expOnIntervalNegQuarterTo0(rescale(aModQuarterMinusQuarter, integerBits, 0));
  const remainder: i32 = aModQuarterMinusQuarter - a;
  // exp(-2^k) for k = -2 .. 4, in Q0.31.
  if (integerBits > -2 && (remainder & (1 << (fractionalBits - 2))) != 0) result = saturatingRoundingDoublingHighMul(result, 1672461947);
  if (integerBits > -1 && (remainder & (1 << (fractionalBits - 1))) != 0) result = saturatingRoundingDoublingHighMul(result, 1302514674);
  if (integerBits > 0 && (remainder & (1 << fractionalBits)) != 0) result = saturatingRoundingDoublingHighMul(result, 790015084);
  if (integerBits > 1 && (remainder & (1 << (fractionalBits + 1))) != 0) result = saturatingRoundingDoublingHighMul(result, 290630308);
  if (integerBits > 2 && (remainder & (1 << (fractionalBits + 2))) != 0) result = saturatingRoundingDoublingHighMul(result, 39332535);
  if (integerBits > 3 && (remainder & (1 << (fractionalBits + 3))) != 0) result = saturatingRoundingDoublingHighMul(result, 720401);
  if (integerBits > 4 && (remainder & (1 << (fractionalBits + 4))) != 0) result = saturatingRoundingDoublingHighMul(result, 242);
  // Below -32 the result is 0 (only reachable with more than 5 integer bits).
  if (integerBits > 5 && a < -(1 << (36 - integerBits))) result = 0;
  if (a == 0) result = RAW_ONE_Q0;
  return result;
}

// Newton-Raphson reciprocal of the half denominator (1 + a) / 2 in Q2.29, three iterations.
// @ts-ignore: decorator
@inline
function reciprocalOfHalfDenominatorQ2(halfDenominator: i32): i32 {
  const c48Over17: i32 = 1515870810;
  const cNeg32Over17: i32 = -1010580540;
  const oneQ2: i32 = 1 << 29;
  let x: i32 = c48Over17 + saturatingRoundingDoublingHighMul(halfDenominator, cNeg32Over17);
  for (let i = 0; i < 3; i++) {
    const halfDenTimesX = saturatingRoundingDoublingHighMul(halfDenominator, x);
    const oneMinus: i32 = oneQ2 - halfDenTimesX;
    x = x + saturatingShiftLeft(saturatingRoundingDoublingHighMul(x, oneMinus), 2); // Q4 -> Q2
  }
  return x;
}

// 1 / (1 + a) for a in [0, 1), Q0.31 in and out.
export function oneOverOnePlusXForXIn01(a: i32): i32 {
  const x = reciprocalOfHalfDenominatorQ2(roundingHalfSum(a, RAW_ONE_Q0));
  // x / 2 taken as Q1, then Q1 -> Q0.
  return saturatingShiftLeft(x, 1);
}

// (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out.
// @ts-ignore: decorator
@inline
function oneMinusXOverOnePlusXForXIn01(a: i32): i32 {
  const x = reciprocalOfHalfDenominatorQ2(roundingHalfSum(a, RAW_ONE_Q0));
  return saturatingShiftLeft(x - (1 << 29), 2); // Q2 -> Q0
}

// logistic(a) = 1 / (1 + exp(-a)), `integerBits` integer bits in, Q0.31 out.
export function fixedLogistic(a: i32, integerBits: i32): i32 {
  if (a == 0) return 1 << 30;
  const positive = a > 0;
  const absA: i32 = positive ? a : -a;
  const ifPositive = oneOverOnePlusXForXIn01(expOnNegativeValues(-absA, integerBits));
  return positive ? ifPositive : RAW_ONE_Q0 - ifPositive;
}

// tanh(a) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)) with the sign of a, Q0.31 out.
export function fixedTanh(a: i32, integerBits: i32): i32 {
  if (a == 0) return 0;
  const negative = a < 0;
  const negAbs: i32 = negative ? a : -a;
  // Doubling is exact: same raw value, one more integer bit.
  const t = oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(negAbs, integerBits + 1));
  return negative ? -t : t;
}

// TFLite GetReciprocal: 1/x for x > 0 with `xIntegerBits` integer bits. Returns the Q0.31
// reciprocal of x scaled into [1, 2) and stores how many bits x had above 1.0 in
// `reciprocalBitsOverUnit` (read it right after the call).
export let reciprocalBitsOverUnit: i32 = 0;
export function getReciprocal(x: i32, xIntegerBits: i32): i32 {
  const headroomPlusOne: i32 = <i32>clz<u32>(<u32>x);
  reciprocalBitsOverUnit = xIntegerBits - headroomPlusOne;
  const shiftedSumMinusOne: i32 = <i32>((<u32>x << headroomPlusOne) - 0x80000000);
  return oneOverOnePlusXForXIn01(shiftedSumMinusOne);
}
