// OP_FULLY_CONNECTED (int8 in, int8 weights with zero point 0, int32 bias, int8 out).
// Parameter words:
//   0 input        int8 [batches, in]
//   1 weights      packed in the row layout (int8), the pair layout (int16) or the Strassen layout
//                  (int16 weight sums) of fc_layout.ts (word 16)
//   2 bias         int32 [roundup(out, 8)]: bias[c] - in_zp * Σ_k w[c][k], folded by the host
//                  (int32 wrap-around, so the sum equals TFLM's Σ (x - in_zp) * w + bias bit for
//                  bit); zero past `out`
//   3 output       int8 [batches, out]
//   4 batches, 5 in (accumulation depth), 6 out (output depth)
//   7 multipliers  int32 [roundup(out, 8)]  (per channel; a per-tensor scale is repeated)
//   8 shifts       int32 [roundup(out, 8)]
//   9 output zero point, 10 activation min, 11 activation max
//   12 uniform: 1 when every channel has the same multiplier and shift (per-tensor weights)
//   13 1 when a uniform op may requantize in float32 (requantize.ts; the host proved
//      |acc * real| < 2^21), 14 its f32 scale (bits), 15 its f32 half-step (bits)
//   16 layout: 0 row layout (one input row at a time), 1 pair layout (tiles of FC_TILE_M rows),
//      2 Strassen layout (fc_strassen.ts: one level of Strassen over pair-layout tiles)
//   17 scratch (pair layout): FC_TILE_M * 2 * pairs int16, 16-byte aligned; holds a tile's
//      input rows widened to int16 and interleaved by pair: [pair q][row r][x[2q], x[2q+1]]
//      (Strassen layout: see fc_strassen.ts)
import { clampI32, multiplyByQuantizedMultiplier, param } from "../fixedpoint";
import { FC_CHUNK, FC_GROUP, FC_ROWS, FC_TILE_M } from "./fc_layout";
import { requantize4 } from "./simd_requant";
import { approx8, approxMagicZp, approxTrustedAll } from "./requantize";
import { fullyConnectedStrassen } from "./fc_strassen";

// Loop constants of the float32 requantization, written once per call and loaded in the loop
// (engines recompute SIMD splats inside loops): scale, half-step, magic + zp, act min, act max.
const FC_K: usize = memory.data(16 * 5, 16);

// @ts-ignore: decorator
@inline
export function storeApproxConstants(p: usize): void {
  v128.store(FC_K, i32x4.splat(param(p, 14)));
  v128.store(FC_K, i32x4.splat(param(p, 15)), 16);
  v128.store(FC_K, approxMagicZp(param(p, 9)), 32);
  v128.store(FC_K, i16x8.splat(<i16>param(p, 10)), 48);
  v128.store(FC_K, i16x8.splat(<i16>param(p, 11)), 64);
}

// Never-read slots: the scalar chunk stores its four sums here after every step. A load cannot
// move above a store, so this keeps the engine (V8 on x64) from hoisting all 80 loads of a
// chunk ahead of the arithmetic and spilling them (AD 640 -> 128: 38 -> 28 us); each sum is
// stored because an unstored sum's arithmetic would still sink below the next step's loads.
const FC_PIN: usize = memory.data(16, 16);

// Row sums of a partial last group are spilled here to store only the rows that exist.
const SPILL: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline
export function requantizeStore(acc: i32, dst: usize, mult: usize, shift: usize, r: i32, zp: i32, lo: i32, hi: i32): void {
  const off = <usize>r << 2;
  const v = multiplyByQuantizedMultiplier(acc, load<i32>(mult + off), load<i32>(shift + off)) + zp;
  store<i8>(dst + <usize>r, <i8>clampI32(v, lo, hi));
}

export function fullyConnected(p: usize): void {
  const layout = param(p, 16);
  if (layout == 2) {
    fullyConnectedStrassen(p);
  } else if (layout != 0) {
    if (ASC_FEATURE_SIMD) fullyConnectedPairsSimd(p);
    else fullyConnectedPairsScalar(p);
  } else {
    if (ASC_FEATURE_SIMD) fullyConnectedSimd(p);
    else fullyConnectedScalar(p);
  }
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
    xk = <i32>load<i8>(xc, 0); s0 += xk * <i32>load<i8>(w, 0); s1 += xk * <i32>load<i8>(w, 16); s2 += xk * <i32>load<i8>(w, 32); s3 += xk * <i32>load<i8>(w, 48); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 1); s0 += xk * <i32>load<i8>(w, 1); s1 += xk * <i32>load<i8>(w, 17); s2 += xk * <i32>load<i8>(w, 33); s3 += xk * <i32>load<i8>(w, 49); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 2); s0 += xk * <i32>load<i8>(w, 2); s1 += xk * <i32>load<i8>(w, 18); s2 += xk * <i32>load<i8>(w, 34); s3 += xk * <i32>load<i8>(w, 50); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 3); s0 += xk * <i32>load<i8>(w, 3); s1 += xk * <i32>load<i8>(w, 19); s2 += xk * <i32>load<i8>(w, 35); s3 += xk * <i32>load<i8>(w, 51); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 4); s0 += xk * <i32>load<i8>(w, 4); s1 += xk * <i32>load<i8>(w, 20); s2 += xk * <i32>load<i8>(w, 36); s3 += xk * <i32>load<i8>(w, 52); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 5); s0 += xk * <i32>load<i8>(w, 5); s1 += xk * <i32>load<i8>(w, 21); s2 += xk * <i32>load<i8>(w, 37); s3 += xk * <i32>load<i8>(w, 53); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 6); s0 += xk * <i32>load<i8>(w, 6); s1 += xk * <i32>load<i8>(w, 22); s2 += xk * <i32>load<i8>(w, 38); s3 += xk * <i32>load<i8>(w, 54); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 7); s0 += xk * <i32>load<i8>(w, 7); s1 += xk * <i32>load<i8>(w, 23); s2 += xk * <i32>load<i8>(w, 39); s3 += xk * <i32>load<i8>(w, 55); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 8); s0 += xk * <i32>load<i8>(w, 8); s1 += xk * <i32>load<i8>(w, 24); s2 += xk * <i32>load<i8>(w, 40); s3 += xk * <i32>load<i8>(w, 56); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 9); s0 += xk * <i32>load<i8>(w, 9); s1 += xk * <i32>load<i8>(w, 25); s2 += xk * <i32>load<i8>(w, 41); s3 += xk * <i32>load<i8>(w, 57); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 10); s0 += xk * <i32>load<i8>(w, 10); s1 += xk * <i32>load<i8>(w, 26); s2 += xk * <i32>load<i8>(w, 42); s3 += xk * <i32>load<i8>(w, 58); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 11); s0 += xk * <i32>load<i8>(w, 11); s1 += xk * <i32>load<i8>(w, 27); s2 += xk * <i32>load<i8>(w, 43); s3 += xk * <i32>load<i8>(w, 59); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 12); s0 += xk * <i32>load<i8>(w, 12); s1 += xk * <i32>load<i8>(w, 28); s2 += xk * <i32>load<i8>(w, 44); s3 += xk * <i32>load<i8>(w, 60); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 13); s0 += xk * <i32>load<i8>(w, 13); s1 += xk * <i32>load<i8>(w, 29); s2 += xk * <i32>load<i8>(w, 45); s3 += xk * <i32>load<i8>(w, 61); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 14); s0 += xk * <i32>load<i8>(w, 14); s1 += xk * <i32>load<i8>(w, 30); s2 += xk * <i32>load<i8>(w, 46); s3 += xk * <i32>load<i8>(w, 62); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
    xk = <i32>load<i8>(xc, 15); s0 += xk * <i32>load<i8>(w, 15); s1 += xk * <i32>load<i8>(w, 31); s2 += xk * <i32>load<i8>(w, 47); s3 += xk * <i32>load<i8>(w, 63); store<i32>(FC_PIN, s0); store<i32>(FC_PIN, s1, 4); store<i32>(FC_PIN, s2, 8); store<i32>(FC_PIN, s3, 12);
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

// Requantize 8 consecutive channels (sums a: channels c..c+3, b: c+4..c+7, bias included) and
// store the first n of them at dst.
// @ts-ignore: decorator
@inline
export function storeRow8(a: v128, b: v128, dst: usize, n: i32, c: i32, uniform: bool, approx: bool,
  mult: usize, shift: usize, m0: i32, sh0: i32, zp: i32, lo: i32, hi: i32): void {
  if (uniform) {
    let q: v128;
    if (approx) {
      const fs = v128.load(FC_K), fh = v128.load(FC_K, 16);
      q = approx8(a, b, fs, fs, fh, fh, v128.load(FC_K, 32), v128.load(FC_K, 48), v128.load(FC_K, 64));
      if (!approxTrustedAll(q)) {
        const h = i16x8.narrow_i32x4_s(requantize4(a, m0, sh0, zp, lo, hi), requantize4(b, m0, sh0, zp, lo, hi));
        q = i8x16.narrow_i16x8_s(h, h);
      }
    } else {
      const h = i16x8.narrow_i32x4_s(requantize4(a, m0, sh0, zp, lo, hi), requantize4(b, m0, sh0, zp, lo, hi));
      q = i8x16.narrow_i16x8_s(h, h);
    }
    if (n == FC_GROUP) {
      v128.store64_lane(dst, q, 0);
    } else {
      let w = i64x2.extract_lane(q, 0);
      for (let i = 0; i < n; i++) {
        store<i8>(dst + <usize>i, <i8>w);
        w >>= 8;
      }
    }
  } else {
    v128.store(SPILL, a);
    v128.store(SPILL, b, 16);
    const m = mult + (<usize>c << 2), s = shift + (<usize>c << 2);
    for (let i = 0; i < n; i++) requantizeStore(load<i32>(SPILL + (<usize>i << 2)), dst, m, s, i, zp, lo, hi);
  }
}

// Sums of one row group (FC_ROWS rows from w, input x): lane r is row r's full dot product.
// Inputs and weights are sign-extended to i16 as they are loaded (v128.load8x8_s) and multiplied
// with i32x4.dot_i16x8_s (exact: |x*w| <= 2^14, pair sums fit). `full` chunks of 16, then one
// more 8-input step when `half`, then `tail` (0..7) inputs in scalar code.
// @ts-ignore: decorator
@inline
function groupSums(x: usize, w: usize, full: i32, half: bool, tail: i32): v128 {
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
  if (tail > 0) {
    // Last few inputs: the packed chunk is zero padded, but x ends here.
    const off = <usize>(half ? 8 : 0);
    const xt = xp + off;
    const wt = w + off;
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
  return sums;
}

// SIMD version of the row layout: two row groups (8 outputs) per pass, requantized together.
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
  if (approx) storeApproxConstants(p);
  const m0 = load<i32>(mult);
  const sh0 = load<i32>(shift);
  const full = inDepth / FC_CHUNK;
  const rest = inDepth - full * FC_CHUNK;
  const half = rest >= 8;            // one more 8-input step inside the last chunk
  const tail = rest - (half ? 8 : 0); // 0..7 inputs left for scalar code
  const groupBytes = <usize>((full + (rest > 0 ? 1 : 0)) * FC_ROWS * FC_CHUNK);
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inDepth);
    const y = output + <usize>(b * outDepth);
    let w = weights;
    for (let r0 = 0; r0 < outDepth; r0 += 2 * FC_ROWS) {
      const s0 = groupSums(x, w, full, half, tail);
      w += groupBytes;
      let s1 = i32x4.splat(0);
      if (r0 + FC_ROWS < outDepth) {
        s1 = groupSums(x, w, full, half, tail);
        w += groupBytes;
      }
      const bp = bias + (<usize>r0 << 2);
      storeRow8(i32x4.add(s0, v128.load(bp)), i32x4.add(s1, v128.load(bp, 16)), y + <usize>r0,
        min(2 * FC_ROWS, outDepth - r0), r0, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
    }
  }
}

// ---- pair layout: batched inputs ---------------------------------------------------------

// Plain version of the pair layout: two input rows x four channels at a time (channel c's pair
// q is the int16 pair at element ((c / 8) * pairs + q) * 16 + (c % 8) * 2, fc_layout.ts).
// Channels past `out` have zero weights and are not stored; a missing second row repeats the
// first and is not stored.
function fullyConnectedPairsScalar(p: usize): void {
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
  const pairs = ((inDepth + 3) & ~3) >> 1;
  const groupBytes = <usize>pairs * FC_GROUP * 4;
  const evenEnd = <usize>(inDepth & ~1);
  for (let b = 0; b < batches; b += 2) {
    const xa = input + <usize>(b * inDepth);
    const ya = output + <usize>(b * outDepth);
    const two = b + 1 < batches;
    const xb = two ? xa + <usize>inDepth : xa;
    const yb = ya + <usize>outDepth;
    for (let c = 0; c < outDepth; c += 4) {
      let w = weights + <usize>(c / FC_GROUP) * groupBytes + (<usize>(c % FC_GROUP) << 2);
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let k: usize = 0;
      for (; k < evenEnd; k += 2) {
        const u0 = <i32>load<i8>(xa + k), u1 = <i32>load<i8>(xa + k, 1);
        const v0 = <i32>load<i8>(xb + k), v1 = <i32>load<i8>(xb + k, 1);
        let w0 = <i32>load<i16>(w), w1 = <i32>load<i16>(w, 2);
        a0 += u0 * w0 + u1 * w1; b0 += v0 * w0 + v1 * w1;
        w0 = <i32>load<i16>(w, 4); w1 = <i32>load<i16>(w, 6);
        a1 += u0 * w0 + u1 * w1; b1 += v0 * w0 + v1 * w1;
        w0 = <i32>load<i16>(w, 8); w1 = <i32>load<i16>(w, 10);
        a2 += u0 * w0 + u1 * w1; b2 += v0 * w0 + v1 * w1;
        w0 = <i32>load<i16>(w, 12); w1 = <i32>load<i16>(w, 14);
        a3 += u0 * w0 + u1 * w1; b3 += v0 * w0 + v1 * w1;
        w += FC_GROUP * 4;
      }
      if (k < <usize>inDepth) {
        const u0 = <i32>load<i8>(xa + k), v0 = <i32>load<i8>(xb + k);
        a0 += u0 * <i32>load<i16>(w); b0 += v0 * <i32>load<i16>(w);
        a1 += u0 * <i32>load<i16>(w, 4); b1 += v0 * <i32>load<i16>(w, 4);
        a2 += u0 * <i32>load<i16>(w, 8); b2 += v0 * <i32>load<i16>(w, 8);
        a3 += u0 * <i32>load<i16>(w, 12); b3 += v0 * <i32>load<i16>(w, 12);
      }
      const bc = bias + (<usize>c << 2);
      const n = min(4, outDepth - c);
      requantizeStore(a0 + load<i32>(bc), ya, mult, shift, c, zp, lo, hi);
      if (n > 1) requantizeStore(a1 + load<i32>(bc, 4), ya, mult, shift, c + 1, zp, lo, hi);
      if (n > 2) requantizeStore(a2 + load<i32>(bc, 8), ya, mult, shift, c + 2, zp, lo, hi);
      if (n > 3) requantizeStore(a3 + load<i32>(bc, 12), ya, mult, shift, c + 3, zp, lo, hi);
      if (two) {
        requantizeStore(b0 + load<i32>(bc), yb, mult, shift, c, zp, lo, hi);
        if (n > 1) requantizeStore(b1 + load<i32>(bc, 4), yb, mult, shift, c + 1, zp, lo, hi);
        if (n > 2) requantizeStore(b2 + load<i32>(bc, 8), yb, mult, shift, c + 2, zp, lo, hi);
        if (n > 3) requantizeStore(b3 + load<i32>(bc, 12), yb, mult, shift, c + 3, zp, lo, hi);
      }
    }
  }
}

// Eight int16 values of four rows (v0..v3) stored in [pair][row] order at d (64 bytes): a 4x4
// transpose of int32 lanes, each lane one pair. Shared with the Strassen input sums.
// @ts-ignore: decorator
@inline
export function storePairRows(d: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(d, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(d, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(d, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

// Widen rows x0..x3 (inDepth int8 each) into the scratch: [pair q][row r] as two int16, pairs
// past the input zero. Eight inputs of four rows are a 4x4 transpose of int32 lanes.
// @ts-ignore: decorator
@inline
function widenTile(dst: usize, x0: usize, x1: usize, x2: usize, x3: usize, inDepth: i32, pairs: i32): void {
  let k = 0;
  let d = dst;
  for (; k + 8 <= inDepth; k += 8) {
    const o = <usize>k;
    storePairRows(d, v128.load8x8_s(x0 + o), v128.load8x8_s(x1 + o), v128.load8x8_s(x2 + o), v128.load8x8_s(x3 + o));
    d += 64;
  }
  for (; k < pairs * 2; k++) {
    const o = <usize>k;
    const e = dst + ((<usize>k >> 1) << 4) + ((<usize>k & 1) << 1);
    const inside = k < inDepth;
    store<i16>(e, inside ? <i16>load<i8>(x0 + o) : 0);
    store<i16>(e, inside ? <i16>load<i8>(x1 + o) : 0, 4);
    store<i16>(e, inside ? <i16>load<i8>(x2 + o) : 0, 8);
    store<i16>(e, inside ? <i16>load<i8>(x3 + o) : 0, 12);
  }
}

// Sums of one register tile: FC_TILE_M (4) widened input rows x FC_GROUP (8) channels, from the
// scratch rows xp..xEnd ([pair][row] int16 pairs) and the int16 weight pairs from wp, starting
// from a (channels 0..3) and b (4..7) in every row. Stored at dst: row r's channels 0..3 at
// 32 r, 4..7 at 32 r + 16 (the engine keeps them in registers up to the stores; the loads
// that follow read L1). Shared by the pair layout and the Strassen layout (fc_strassen.ts).
// @ts-ignore: decorator
@inline
export function pairTileSums(xStart: usize, xEnd: usize, wStart: usize, a: v128, b: v128, dst: usize): void {
  let a0 = a, a1 = a, a2 = a, a3 = a;
  let b0 = b, b1 = b, b2 = b, b3 = b;
  let xp = xStart, wp = wStart;
  do {
    const wlo = v128.load(wp);
    const whi = v128.load(wp, 16);
    let xv = v128.load32_splat(xp);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, wlo));
    b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xv, whi));
    xv = v128.load32_splat(xp, 4);
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, wlo));
    b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xv, whi));
    xv = v128.load32_splat(xp, 8);
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, wlo));
    b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xv, whi));
    xv = v128.load32_splat(xp, 12);
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, wlo));
    b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xv, whi));
    xp += 16;
    wp += 32;
  } while (xp < xEnd);
  v128.store(dst, a0); v128.store(dst, b0, 16);
  v128.store(dst, a1, 32); v128.store(dst, b1, 48);
  v128.store(dst, a2, 64); v128.store(dst, b2, 80);
  v128.store(dst, a3, 96); v128.store(dst, b3, 112);
}

// One pair-layout tile's sums (pairTileSums), between the loop and the requantization.
const TILE: usize = memory.data(FC_TILE_M * FC_GROUP * 4, 16);

// SIMD version of the pair layout: tiles of FC_TILE_M (4) input rows x FC_GROUP (8) outputs in
// eight i32x4 accumulators. The tile's rows are widened once into the scratch, interleaved so
// that one moving pointer with constant offsets reaches all four; the weights are stored as
// int16 (widened at load time), so a step is two plain loads, four splats, eight
// i32x4.dot_i16x8_s and eight adds, the fastest int8 loop V8 compiles here (~42 GMAC/s, about
// two thirds of the instruction's peak: bench/wasm/ceiling.ts measures both). One pair per loop
// step: the engine loads all of a step's operands first, and two pairs' operands with the eight
// sums would spill (16 registers).
function fullyConnectedPairsSimd(p: usize): void {
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
  const scratch = <usize>param(p, 17);
  if (approx) storeApproxConstants(p);
  const m0 = load<i32>(mult);
  const sh0 = load<i32>(shift);
  const pairs = ((inDepth + 3) & ~3) >> 1;
  const xEnd = scratch + (<usize>pairs << 4);
  const wBytes = <usize>pairs << 5;
  const rowIn = <usize>inDepth;
  const rowOut = <usize>outDepth;
  for (let m = 0; m < batches; m += FC_TILE_M) {
    const rows = min(FC_TILE_M, batches - m);
    // Rows past the last batch repeat it: computed, never stored.
    const x0 = input + <usize>m * rowIn;
    const x1 = rows > 1 ? x0 + rowIn : x0;
    const x2 = rows > 2 ? x1 + rowIn : x1;
    const x3 = rows > 3 ? x2 + rowIn : x2;
    widenTile(scratch, x0, x1, x2, x3, inDepth, pairs);
    const y0 = output + <usize>m * rowOut;
    let wp = weights;
    for (let g = 0; g < outDepth; g += FC_GROUP) {
      pairTileSums(scratch, xEnd, wp, v128.load(bias + (<usize>g << 2)), v128.load(bias + (<usize>g << 2), 16), TILE);
      wp += wBytes;
      const n = min(FC_GROUP, outDepth - g);
      let dst = y0 + <usize>g;
      storeRow8(v128.load(TILE), v128.load(TILE, 16), dst, n, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
      if (rows > 1) {
        dst += rowOut;
        storeRow8(v128.load(TILE, 32), v128.load(TILE, 48), dst, n, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
      }
      if (rows > 2) {
        dst += rowOut;
        storeRow8(v128.load(TILE, 64), v128.load(TILE, 80), dst, n, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
      }
      if (rows > 3) {
        dst += rowOut;
        storeRow8(v128.load(TILE, 96), v128.load(TILE, 112), dst, n, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
      }
    }
  }
}
