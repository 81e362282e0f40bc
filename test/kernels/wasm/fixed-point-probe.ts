// AssemblyScript test entry (compiled by test/kernels/fixed-point.test.ts, not part of the kernel
// builds): exposes the gemmlowp routines of assembly/gemmlowp.ts one by one so they can be
// compared with the TypeScript reference on raw int32 values.
import {
  expOnNegativeValues, oneOverOnePlusXForXIn01, fixedLogistic, fixedTanh, getReciprocal,
  reciprocalBitsOverUnit, rescale, roundingHalfSum,
} from "../../../assembly/gemmlowp";
import "../../../assembly/abort";

export function expNeg(a: i32, bits: i32): i32 { return expOnNegativeValues(a, bits); }
export function oneOverOnePlusX(a: i32): i32 { return oneOverOnePlusXForXIn01(a); }
export function logistic(a: i32, bits: i32): i32 { return fixedLogistic(a, bits); }
export function tanh(a: i32, bits: i32): i32 { return fixedTanh(a, bits); }
export function reciprocal(x: i32, bits: i32): i32 { return getReciprocal(x, bits); }
export function reciprocalBits(): i32 { return reciprocalBitsOverUnit; }
export function rescaleBits(x: i32, from: i32, to: i32): i32 { return rescale(x, from, to); }
export function halfSum(a: i32, b: i32): i32 { return roundingHalfSum(a, b); }

// TFLite's int16 LUT sigmoid / tanh used inside the LSTM kernel.
import { sigmoidQ3_12, tanhInt16 } from "../../../assembly/kernels/lstm";
export function sigmoid16(x: i32): i32 { return sigmoidQ3_12(x); }
export function tanh16(x: i32, multiplier: i32, shift: i32): i32 { return tanhInt16(x, multiplier, shift); }

// The core TFLite primitives of assembly/fixedpoint.ts, probed directly.
import { saturatingRoundingDoublingHighMul, roundingDivideByPOT, multiplyByQuantizedMultiplier } from "../../../assembly/fixedpoint";
export function srdhm(a: i32, b: i32): i32 { return saturatingRoundingDoublingHighMul(a, b); }
export function rdpot(x: i32, e: i32): i32 { return roundingDivideByPOT(x, e); }
export function mbqm(x: i32, m: i32, s: i32): i32 { return multiplyByQuantizedMultiplier(x, m, s); }
