// OP_FULLY_CONNECTED (int8 in, int8 weights with zero point 0, int32 bias, int8 out).
// Parameter words:
//   0 input        int8 [batches, in]
//   1 weights      int8, packed as described in fc_layout.ts
//   2 bias         int32 [out]: bias[c] - in_zp * Σ_k w[c][k], folded by the host (int32 wrap-around,
//                  so the sum equals TFLM's Σ (x - in_zp) * w + bias bit for bit)
//   3 output       int8 [batches, out]
//   4 batches, 5 in (accumulation depth), 6 out (output depth)
//   7 multipliers  int32 [out]  (per channel; a per-tensor scale is repeated by the host)
//   8 shifts       int32 [out]
//   9 output zero point, 10 activation min, 11 activation max
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { FC_CHUNK, FC_ROWS } from "./fc_layout";

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

// Plain version: one output at a time, reading the packed layout element by element.
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
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    for (let r = 0; r < outDepth; r++) {
      const g = r / FC_ROWS;
      const rr = r % FC_ROWS;
      let acc = load<i32>(bias + (<usize>r << 2));
      for (let c = 0; c < chunks; c++) {
        const w = weights + <usize>(((g * chunks + c) * FC_ROWS + rr) * FC_CHUNK);
        const k0 = c * FC_CHUNK;
        const n = min(FC_CHUNK, inDepth - k0);
        for (let k = 0; k < n; k++) {
          acc += <i32>load<i8>(x + <usize>(k0 + k)) * <i32>load<i8>(w + <usize>k);
        }
      }
      requantizeStore(acc, y, mult, shift, r, zp, lo, hi);
    }
  }
}

// SIMD version: FC_ROWS (4) output rows per pass; each 16-input chunk of x is widened to i16 once
// and multiplied into all four rows with i32x4.dot_i16x8_s (exact: |x*w| <= 2^14, pair sums fit).
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
  const chunks = (inDepth + FC_CHUNK - 1) / FC_CHUNK;
  const full = inDepth / FC_CHUNK;
  const tail = inDepth - full * FC_CHUNK;
  const groups = (outDepth + FC_ROWS - 1) / FC_ROWS;
  const groupBytes = <usize>(chunks * FC_ROWS * FC_CHUNK);
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    for (let g = 0; g < groups; g++) {
      let w = weights + <usize>g * groupBytes;
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      for (let c = 0; c < full; c++) {
        const xv = v128.load(x + <usize>(c * FC_CHUNK));
        const xl = i16x8.extend_low_i8x16_s(xv);
        const xh = i16x8.extend_high_i8x16_s(xv);
        const w0 = v128.load(w);
        const w1 = v128.load(w, 16);
        const w2 = v128.load(w, 32);
        const w3 = v128.load(w, 48);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(w0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(w1)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(w2)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(w3)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(w0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(w1)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(w2)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(w3)));
        w += FC_ROWS * FC_CHUNK;
      }
      // Transpose-and-add: lane r of `sums` is the full horizontal sum of a_r.
      const t01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
      const t23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
      const sums = i32x4.add(i32x4.shuffle(t01, t23, 0, 1, 4, 5), i32x4.shuffle(t01, t23, 2, 3, 6, 7));
      let s0 = i32x4.extract_lane(sums, 0);
      let s1 = i32x4.extract_lane(sums, 1);
      let s2 = i32x4.extract_lane(sums, 2);
      let s3 = i32x4.extract_lane(sums, 3);
      if (tail > 0) {
        // Last partial chunk: w points at it; its padding bytes are zero but x may end here.
        const xt = x + <usize>(full * FC_CHUNK);
        for (let k = 0; k < tail; k++) {
          const xk = <i32>load<i8>(xt + <usize>k);
          const wk = w + <usize>k;
          s0 += xk * <i32>load<i8>(wk);
          s1 += xk * <i32>load<i8>(wk, 16);
          s2 += xk * <i32>load<i8>(wk, 32);
          s3 += xk * <i32>load<i8>(wk, 48);
        }
      }
      const r0 = g * FC_ROWS;
      const rows = min(FC_ROWS, outDepth - r0);
      requantizeStore(s0 + load<i32>(bias + (<usize>r0 << 2)), y, mult, shift, r0, zp, lo, hi);
      if (rows > 1) requantizeStore(s1 + load<i32>(bias + (<usize>(r0 + 1) << 2)), y, mult, shift, r0 + 1, zp, lo, hi);
      if (rows > 2) requantizeStore(s2 + load<i32>(bias + (<usize>(r0 + 2) << 2)), y, mult, shift, r0 + 2, zp, lo, hi);
      if (rows > 3) requantizeStore(s3 + load<i32>(bias + (<usize>(r0 + 3) << 2)), y, mult, shift, r0 + 3, zp, lo, hi);
    }
  }
}
