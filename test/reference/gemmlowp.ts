// Test reference: gemmlowp / TFLite fixed-point primitives written plainly in TypeScript
// (BigInt products, explicit int32 wrapping), independent of the AssemblyScript kernels.
// Values are raw int32 numbers; "Qk" means k integer bits (raw = real * 2^(31-k)).

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** Wrap to int32 like C two's-complement arithmetic. */
export const wrap = (x: number): number => x | 0;

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** round(a * b / 2^31), halves away from zero; saturates MIN * MIN. */
export function srdhm(a: number, b: number): number {
  if (a === I32_MIN && b === I32_MIN) return I32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, as C
}

/** x / 2^e rounded to nearest, ties away from zero. */
export function rdpot(x: number, e: number): number {
  if (e === 0) return x;
  const q = BigInt(x);
  const d = 1n << BigInt(e);
  const floor = q >= 0n ? q / d : -((-q + d - 1n) / d);
  const rem = q - floor * d; // in [0, d)
  const half = d / 2n;
  // Ties go away from zero: up for x >= 0, stay at the floor for x < 0.
  let r = floor;
  if (rem > half || (rem === half && q >= 0n)) r = floor + 1n;
  return Number(r);
}

/** Saturating x * 2^e for e > 0 with gemmlowp's threshold |x| > 2^(31-e) - 1. */
export function satShl(x: number, e: number): number {
  const t = 2 ** (31 - e) - 1;
  if (x > t) return I32_MAX;
  if (x < -t) return I32_MIN;
  return x * 2 ** e;
}

export function rescale(x: number, from: number, to: number): number {
  const e = from - to;
  return e > 0 ? satShl(x, e) : e < 0 ? rdpot(x, -e) : x;
}

export function roundingHalfSum(a: number, b: number): number {
  const s = a + b; // exact in double
  return Math.trunc((s + (s >= 0 ? 1 : -1)) / 2);
}

/** TFLite MultiplyByQuantizedMultiplier, double rounding. */
export function mbqm(x: number, m: number, shift: number): number {
  const l = shift > 0 ? shift : 0;
  const r = shift > 0 ? 0 : -shift;
  return rdpot(srdhm(wrap(x * 2 ** l), m), r);
}

function expQuarter(a: number): number {
  const c = 1895147668;
  const third = 715827883;
  const x = wrap(a + 2 ** 28);
  const x2 = srdhm(x, x);
  const x3 = srdhm(x2, x);
  const x4 = srdhm(x2, x2);
  const t = rdpot(wrap(srdhm(wrap(rdpot(x4, 2) + x3), third) + x2), 1);
  return wrap(c + srdhm(c, wrap(x + t)));
}

const EXP_NEG_POW2: ReadonlyArray<[number, number]> = [
  [-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308],
  [2, 39332535], [3, 720401], [4, 242],
];

/** exp(a) for a <= 0 given in Q`bits`; Q0 result. */
export function expNeg(a: number, bits: number): number {
  const frac = 31 - bits;
  const quarter = 2 ** (frac - 2);
  const m = wrap((a & (quarter - 1)) - quarter);
  let r = expQuarter(rescale(m, bits, 0));
  const rem = wrap(m - a);
  for (const [k, mult] of EXP_NEG_POW2) {
    if (bits > k && (rem & (2 ** (frac + k))) !== 0) r = srdhm(r, mult);
  }
  if (bits > 5 && a < -(2 ** (36 - bits))) r = 0;
  return a === 0 ? I32_MAX : r;
}

function newtonHalfDenominator(hd: number): number {
  let x = wrap(1515870810 + srdhm(hd, -1010580540));
  for (let i = 0; i < 3; i++) {
    const oneMinus = wrap(2 ** 29 - srdhm(hd, x));
    x = wrap(x + satShl(srdhm(x, oneMinus), 2));
  }
  return x;
}

/** 1 / (1 + a), a in [0, 1) in Q0. */
export function oneOverOnePlusX(a: number): number {
  return satShl(newtonHalfDenominator(roundingHalfSum(a, I32_MAX)), 1);
}

export function logisticQ(a: number, bits: number): number {
  if (a === 0) return 2 ** 30;
  const pos = oneOverOnePlusX(expNeg(-Math.abs(a), bits));
  return a > 0 ? pos : wrap(I32_MAX - pos);
}

export function tanhQ(a: number, bits: number): number {
  if (a === 0) return 0;
  const x = newtonHalfDenominator(roundingHalfSum(expNeg(-Math.abs(a), bits + 1), I32_MAX));
  const t = satShl(wrap(x - 2 ** 29), 2);
  return a < 0 ? -t : t;
}

/** Count leading zeros of a positive int32. */
export function clz32(x: number): number {
  return Math.clz32(x);
}
