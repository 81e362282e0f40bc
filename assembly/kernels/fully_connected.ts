// OP_FULLY_CONNECTED (int8 in, int8 weights with zero point 0, int32 bias, int8 out).
// Parameter words:
//   0 input        int8 [batches, in]
//   1 weights      int8, packed as described in fc_layout.ts
//   2 bias         int32 [groups * FC_ROWS]: bias[c] - in_zp * Σ_k w[c][k], folded by the host
//                  (int32 wrap-around, so the sum equals TFLM's Σ (x - in_zp) * w + bias bit for
//                  bit); zero past `out`
//   3 output       int8 [batches, out]
//   4 batches, 5 in (accumulation depth), 6 out (output depth)
//   7 multipliers  int32 [groups * FC_ROWS]  (per channel; a per-tensor scale is repeated)
//   8 shifts       int32 [groups * FC_ROWS]
//   9 output zero point, 10 activation min, 11 activation max
//   12 uniform: 1 when every channel has the same multiplier and shift (per-tensor weights)
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { FC_CHUNK, FC_ROWS } from "./fc_layout";
import { narrowToI8, requantize4 } from "./simd_requant";

// Row sums of a partial last group are spilled here to store only the rows that exist.
const SPILL: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline
function requantizeStore(acc: i32, dst: usize, mult: usize, shift: usize, r: i32, zp: i32, lo: i32, hi: i32): void {
  const off = <usize>r << 2;
  const v = multiplyByQuantizedMultiplier(acc, load<i32>(mult + off), load<i32>(shift + off)) + zp;
  store<i8>(dst + <usize>r, <i8>clampI32(v, lo, hi));
}

export function fullyConnected(p: usize): void {
  if (ASC_FEATURE_SIMD) fullyConnectedSimd(p);
  else fullyConnectedScalar(p);
}

// Plain version: FC_ROWS rows per pass (each input byte is loaded once for the group), products
// summed in input order within a row.
function fullyConnectedScalar(p: usize): void {
  const input = <usize>param(p, 0);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const output = <usize>param(p, 3);
  const batches = param(p, 4);
  const inDepth = param(p, 5);
  const outDepth = param(p, 6);
  const mult = <usize>param(p, 7);
  const shift = <usize>param(p, 8);
  const zp = param(p, 9);
  const lo = param(p, 10);
  const hi = param(p, 11);
  const chunks = (inDepth + FC_CHUNK - 1) / FC_CHUNK;
  const groups = (outDepth + FC_ROWS - 1) / FC_ROWS;
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    let w = weights;
    for (let g = 0; g < groups; g++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let c = 0; c < chunks; c++) {
        const k0 = c * FC_CHUNK;
        const n = min(FC_CHUNK, inDepth - k0);
        const xc = x + <usize>k0;
        for (let k = 0; k < n; k++) {
          const xk = <i32>load<i8>(xc + <usize>k);
          const wk = w + <usize>k;
          s0 += xk * <i32>load<i8>(wk);
          s1 += xk * <i32>load<i8>(wk, FC_CHUNK);
          s2 += xk * <i32>load<i8>(wk, 2 * FC_CHUNK);
          s3 += xk * <i32>load<i8>(wk, 3 * FC_CHUNK);
        }
        w += FC_ROWS * FC_CHUNK;
      }
      const r0 = g * FC_ROWS;
      const rows = min(FC_ROWS, outDepth - r0);
      const bg = bias + (<usize>r0 << 2);
      requantizeStore(s0 + load<i32>(bg), y, mult, shift, r0, zp, lo, hi);
      if (rows > 1) requantizeStore(s1 + load<i32>(bg, 4), y, mult, shift, r0 + 1, zp, lo, hi);
      if (rows > 2) requantizeStore(s2 + load<i32>(bg, 8), y, mult, shift, r0 + 2, zp, lo, hi);
      if (rows > 3) requantizeStore(s3 + load<i32>(bg, 12), y, mult, shift, r0 + 3, zp, lo, hi);
    }
  }
}

// SIMD version: FC_ROWS (4) output rows per pass. Inputs and weights are sign-extended to i16 as
// they are loaded (v128.load8x8_s) and multiplied with i32x4.dot_i16x8_s (exact: |x*w| <= 2^14,
// pair sums fit). The four row sums are requantized together when the scale is per tensor.
function fullyConnectedSimd(p: usize): void {
  const input = <usize>param(p, 0);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const output = <usize>param(p, 3);
  const batches = param(p, 4);
  const inDepth = param(p, 5);
  const outDepth = param(p, 6);
  const mult = <usize>param(p, 7);
  const shift = <usize>param(p, 8);
  const zp = param(p, 9);
  const lo = param(p, 10);
  const hi = param(p, 11);
  const uniform = param(p, 12) != 0;
  const m0 = load<i32>(mult);
  const sh0 = load<i32>(shift);
  const full = inDepth / FC_CHUNK;
  const rest = inDepth - full * FC_CHUNK;
  const half = rest >= 8;            // one more 8-input step inside the last chunk
  const tail = rest - (half ? 8 : 0); // 0..7 inputs left for scalar code
  const groups = (outDepth + FC_ROWS - 1) / FC_ROWS;
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    let w = weights;
    for (let g = 0; g < groups; g++) {
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      let xp = x;
      for (let c = 0; c < full; c++) {
        const xl = v128.load8x8_s(xp);
        const xh = v128.load8x8_s(xp, 8);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 16)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 32)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 48)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xh, v128.load8x8_s(w, 8)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xh, v128.load8x8_s(w, 24)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xh, v128.load8x8_s(w, 40)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xh, v128.load8x8_s(w, 56)));
        xp += FC_CHUNK;
        w += FC_ROWS * FC_CHUNK;
      }
      if (half) {
        const xl = v128.load8x8_s(xp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 16)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 32)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xl, v128.load8x8_s(w, 48)));
      }
      // Transpose-and-add: lane r of `sums` is the full horizontal sum of a_r.
      const t01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
      const t23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
      let sums = i32x4.add(i32x4.shuffle(t01, t23, 0, 1, 4, 5), i32x4.shuffle(t01, t23, 2, 3, 6, 7));
      if (rest > 0) {
        if (tail > 0) {
          // Last few inputs: the packed chunk is zero padded, but x ends here.
          const off = half ? 8 : 0;
          const xt = xp + <usize>off;
          const wt = w + <usize>off;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = 0; k < tail; k++) {
            const xk = <i32>load<i8>(xt + <usize>k);
            const wk = wt + <usize>k;
            s0 += xk * <i32>load<i8>(wk);
            s1 += xk * <i32>load<i8>(wk, 16);
            s2 += xk * <i32>load<i8>(wk, 32);
            s3 += xk * <i32>load<i8>(wk, 48);
          }
          let tv = i32x4.splat(s0);
          tv = i32x4.replace_lane(tv, 1, s1);
          tv = i32x4.replace_lane(tv, 2, s2);
          tv = i32x4.replace_lane(tv, 3, s3);
          sums = i32x4.add(sums, tv);
        }
        w += FC_ROWS * FC_CHUNK;
      }
      const r0 = g * FC_ROWS;
      sums = i32x4.add(sums, v128.load(bias + (<usize>r0 << 2)));
      const rows = min(FC_ROWS, outDepth - r0);
      if (uniform) {
        const q = narrowToI8(requantize4(sums, m0, sh0, zp, lo, hi));
        if (rows == FC_ROWS) {
          v128.store32_lane(y + <usize>r0, q, 0);
        } else {
          v128.store(SPILL, q);
          memory.copy(y + <usize>r0, SPILL, <usize>rows);
        }
      } else {
        requantizeStore(i32x4.extract_lane(sums, 0), y, mult, shift, r0, zp, lo, hi);
        if (rows > 1) requantizeStore(i32x4.extract_lane(sums, 1), y, mult, shift, r0 + 1, zp, lo, hi);
        if (rows > 2) requantizeStore(i32x4.extract_lane(sums, 2), y, mult, shift, r0 + 2, zp, lo, hi);
        if (rows > 3) requantizeStore(i32x4.extract_lane(sums, 3), y, mult, shift, r0 + 3, zp, lo, hi);
      }
    }
  }
}
