// Test reference: TFLite's prepare-time quantization helpers, written plainly (no frexp, no
// shared code with host/runtime/quant.ts). The per-invoke fixed point lives in gemmlowp.ts.

/** TFLite QuantizeMultiplier: real = multiplier * 2^(shift - 31), by halving/doubling into [0.5, 1). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  let q = real;
  let shift = 0;
  while (q >= 1) { q /= 2; shift++; }
  while (q < 0.5) { q *= 2; shift--; }
  let m = Math.round(q * 2 ** 31); // q > 0: Math.round rounds halves up = away from zero
  if (m === 2 ** 31) { m /= 2; shift++; }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: m, shift };
}

/** The same as a [multiplier, shift] pair. */
export function quantizeMultiplierPair(real: number): [number, number] {
  const { multiplier, shift } = quantizeMultiplier(real);
  return [multiplier, shift];
}

/**
 * CalculateActivationRangeQuantized for int8: fused activation code (0 NONE, 1 RELU,
 * 2 RELU_N1_TO_1, 3 RELU6) -> [min, max], quantizing with a float32 division, halves away from zero.
 */
export function activationRange(act: number, scale: number, zp: number): [number, number] {
  const q = (f: number): number => {
    const v = Math.fround(Math.fround(f) / Math.fround(scale));
    return zp + (v < 0 ? -Math.round(-v) : Math.round(v));
  };
  switch (act) {
    case 0: return [-128, 127];
    case 1: return [Math.max(-128, q(0)), 127];
    case 2: return [Math.max(-128, q(-1)), Math.min(127, q(1))];
    case 3: return [Math.max(-128, q(0)), Math.min(127, q(6))];
    default: throw new Error(`activation ${act}`);
  }
}
