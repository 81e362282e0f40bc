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
//   13 1 when a uniform op may requantize in float32 (requantize.ts; the host proved
//      |acc * real| < 2^21), 14 its f32 scale (bits), 15 its f32 half-step (bits)
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { FC_CHUNK, FC_ROWS } from "./fc_layout";
import { narrowToI8, requantize4 } from "./simd_requant";
import { approx8, approxK, approxMagicZp, approxTrustedAll } from "./requantize";

// Loop constants of the float32 requantization, written once per call and loaded in the loop
// (engines recompute SIMD splats inside loops): scale, half-step, magic + zp, act min, act max.
const FC_K: usize = memory.data(16 * 5, 16);

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

// Row sums of one group, left in SPILL[0..3]. Full chunks are written out (FC_CHUNK = 16 steps,
// no inner counter), so the engine keeps the four sums and two pointers in registers.
// @ts-ignore: decorator
@noinline
function scalarGroupSums(x: usize, w: usize, inDepth: i32): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const xEnd = x + <usize>inDepth;
  let xc = x;
  while (xc + FC_CHUNK <= xEnd) {
    // One chunk, written out: x[k] times the four rows' bytes at k, 16 + k, 32 + k, 48 + k.
    let xk: i32;
    xk = <i32>load<i8>(xc, 0); s0 += xk * <i32>load<i8>(w, 0); s1 += xk * <i32>load<i8>(w, 16); s2 += xk * <i32>load<i8>(w, 32); s3 += xk * <i32>load<i8>(w, 48);
    xk = <i32>load<i8>(xc, 1); s0 += xk * <i32>load<i8>(w, 1); s1 += xk * <i32>load<i8>(w, 17); s2 += xk * <i32>load<i8>(w, 33); s3 += xk * <i32>load<i8>(w, 49);
    xk = <i32>load<i8>(xc, 2); s0 += xk * <i32>load<i8>(w, 2); s1 += xk * <i32>load<i8>(w, 18); s2 += xk * <i32>load<i8>(w, 34); s3 += xk * <i32>load<i8>(w, 50);
    xk = <i32>load<i8>(xc, 3); s0 += xk * <i32>load<i8>(w, 3); s1 += xk * <i32>load<i8>(w, 19); s2 += xk * <i32>load<i8>(w, 35); s3 += xk * <i32>load<i8>(w, 51);
    xk = <i32>load<i8>(xc, 4); s0 += xk * <i32>load<i8>(w, 4); s1 += xk * <i32>load<i8>(w, 20); s2 += xk * <i32>load<i8>(w, 36); s3 += xk * <i32>load<i8>(w, 52);
    xk = <i32>load<i8>(xc, 5); s0 += xk * <i32>load<i8>(w, 5); s1 += xk * <i32>load<i8>(w, 21); s2 += xk * <i32>load<i8>(w, 37); s3 += xk * <i32>load<i8>(w, 53);
    xk = <i32>load<i8>(xc, 6); s0 += xk * <i32>load<i8>(w, 6); s1 += xk * <i32>load<i8>(w, 22); s2 += xk * <i32>load<i8>(w, 38); s3 += xk * <i32>load<i8>(w, 54);
    xk = <i32>load<i8>(xc, 7); s0 += xk * <i32>load<i8>(w, 7); s1 += xk * <i32>load<i8>(w, 23); s2 += xk * <i32>load<i8>(w, 39); s3 += xk * <i32>load<i8>(w, 55);
    xk = <i32>load<i8>(xc, 8); s0 += xk * <i32>load<i8>(w, 8); s1 += xk * <i32>load<i8>(w, 24); s2 += xk * <i32>load<i8>(w, 40); s3 += xk * <i32>load<i8>(w, 56);
    xk = <i32>load<i8>(xc, 9); s0 += xk * <i32>load<i8>(w, 9); s1 += xk * <i32>load<i8>(w, 25); s2 += xk * <i32>load<i8>(w, 41); s3 += xk * <i32>load<i8>(w, 57);
    xk = <i32>load<i8>(xc, 10); s0 += xk * <i32>load<i8>(w, 10); s1 += xk * <i32>load<i8>(w, 26); s2 += xk * <i32>load<i8>(w, 42); s3 += xk * <i32>load<i8>(w, 58);
    xk = <i32>load<i8>(xc, 11); s0 += xk * <i32>load<i8>(w, 11); s1 += xk * <i32>load<i8>(w, 27); s2 += xk * <i32>load<i8>(w, 43); s3 += xk * <i32>load<i8>(w, 59);
    xk = <i32>load<i8>(xc, 12); s0 += xk * <i32>load<i8>(w, 12); s1 += xk * <i32>load<i8>(w, 28); s2 += xk * <i32>load<i8>(w, 44); s3 += xk * <i32>load<i8>(w, 60);
    xk = <i32>load<i8>(xc, 13); s0 += xk * <i32>load<i8>(w, 13); s1 += xk * <i32>load<i8>(w, 29); s2 += xk * <i32>load<i8>(w, 45); s3 += xk * <i32>load<i8>(w, 61);
    xk = <i32>load<i8>(xc, 14); s0 += xk * <i32>load<i8>(w, 14); s1 += xk * <i32>load<i8>(w, 30); s2 += xk * <i32>load<i8>(w, 46); s3 += xk * <i32>load<i8>(w, 62);
    xk = <i32>load<i8>(xc, 15); s0 += xk * <i32>load<i8>(w, 15); s1 += xk * <i32>load<i8>(w, 31); s2 += xk * <i32>load<i8>(w, 47); s3 += xk * <i32>load<i8>(w, 63);
    xc += FC_CHUNK;
    w += FC_ROWS * FC_CHUNK;
  }
  for (let k = 0; xc + <usize>k < xEnd; k++) {
    const xk = <i32>load<i8>(xc + <usize>k);
    const wk = w + <usize>k;
    s0 += xk * <i32>load<i8>(wk);
    s1 += xk * <i32>load<i8>(wk, FC_CHUNK);
    s2 += xk * <i32>load<i8>(wk, 2 * FC_CHUNK);
    s3 += xk * <i32>load<i8>(wk, 3 * FC_CHUNK);
  }
  store<i32>(SPILL, s0);
  store<i32>(SPILL, s1, 4);
  store<i32>(SPILL, s2, 8);
  store<i32>(SPILL, s3, 12);
}

// Plain version: FC_ROWS rows per pass (each input byte is loaded once for the group), products
// summed in input order within a row (int32 wrap-around makes the order irrelevant anyway).
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
  const groupBytes = <usize>(chunks * FC_ROWS * FC_CHUNK);
  const groups = (outDepth + FC_ROWS - 1) / FC_ROWS;
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    for (let g = 0; g < groups; g++) {
      scalarGroupSums(x, weights + <usize>g * groupBytes, inDepth);
      const r0 = g * FC_ROWS;
      const rows = min(FC_ROWS, outDepth - r0);
      for (let rr = 0; rr < rows; rr++) {
        const off = <usize>rr << 2;
        requantizeStore(load<i32>(SPILL + off) + load<i32>(bias + (<usize>r0 << 2) + off), y, mult, shift, r0 + rr, zp, lo, hi);
      }
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
  const approx = uniform && param(p, 13) != 0;
  if (approx) {
    v128.store(FC_K, i32x4.splat(param(p, 14)));
    v128.store(FC_K, i32x4.splat(param(p, 15)), 16);
    v128.store(FC_K, approxMagicZp(param(p, 9)), 32);
    v128.store(FC_K, i16x8.splat(<i16>param(p, 10)), 48);
    v128.store(FC_K, i16x8.splat(<i16>param(p, 11)), 64);
  }
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
        let q: v128;
        if (approx) {
          const fs = v128.load(FC_K), fh = v128.load(FC_K, 16);
          q = approx8(sums, sums, fs, fs, fh, fh, v128.load(FC_K, 32), approxK(0), approxK(1), approxK(2), approxK(3),
            v128.load(FC_K, 48), v128.load(FC_K, 64));
          if (!approxTrustedAll(q)) q = narrowToI8(requantize4(sums, m0, sh0, zp, lo, hi));
        } else {
          q = narrowToI8(requantize4(sums, m0, sh0, zp, lo, hi));
        }
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
