// FULLY_CONNECTED over large batches with one level of Strassen's algorithm: seven half-size
// products instead of eight, exact in int32 (every step is a ring operation mod 2^32, so the
// result equals the direct sum bit for bit, wrap-around included). Layout 2 of fully_connected.ts
// (word 16); the host (host/runtime/ops/fully_connected.ts) picks it for batches, depth and
// output counts that split evenly (fc_layout.ts, FC_STRASSEN_*).
//
// With X the [M, K] input, B the [K, N] weights (B[k][n] = w[n][k]), halves X11 X12 / X21 X22
// (rows M/2, depth K/2) and B11 B12 / B21 B22 (depth K/2, channels N/2):
//   P0 = (X11 + X22)(B11 + B22)   P1 = (X21 + X22) B11   P2 = X11 (B12 - B22)
//   P3 = X22 (B21 - B11)          P4 = (X11 + X12) B22   P5 = (X21 - X11)(B11 + B12)
//   P6 = (X12 - X22)(B21 + B22)
//   Y11 = P0 + P3 - P4 + P6   Y12 = P2 + P4   Y21 = P1 + P3   Y22 = P0 - P1 + P2 + P5
// The weight sums are made once at load (int16, the pair layout of fc_layout.ts per product);
// the input sums once per tile of FC_TILE_M rows, into the scratch. Operand sums stay within
// [-256, 255], so products fit i32x4.dot_i16x8_s exactly. Nothing is kept at full size: each
// 4 x 8 output tile's seven products go through a 896-byte scratch and are combined, biased and
// requantized at once.
//
// Scratch (word 17): 7 input-sum tiles of `ph` pairs x FC_TILE_M rows of int16 pairs (ph = K/4,
// [pair q][row r][x[2q], x[2q+1]] as in the pair layout), then 7 product tiles of FC_TILE_M rows
// x FC_GROUP int32 sums (row r at 32 r: channels 0..3, then 4..7).
import { param } from "../fixedpoint";
import { FC_GROUP, FC_TILE_M } from "./fc_layout";
import { pairTileSums, requantizeStore, storeApproxConstants, storePairRows, storeRow8 } from "./fully_connected";

// How one input-sum tile is made from two input blocks (a, b): a alone, a + b, or a - b.
const ONLY: i32 = 0;
const ADD: i32 = 1;
const SUB: i32 = 2;

/** Bytes of one product tile (FC_TILE_M rows x FC_GROUP int32). */
const PTILE: usize = FC_TILE_M * FC_GROUP * 4;

// The four combined rows of one tile row: Y11, Y12, Y21, Y22, channels 0..3 then 4..7 each.
const SPILL4: usize = memory.data(128, 16);

// ---- input sums ---------------------------------------------------------------------------

// Plain version: tile rows r = 0..3 are a + r * rowIn and b + r * rowIn, h values each.
// @ts-ignore: decorator
@inline
function inputSumsScalar(dst: usize, a: usize, b: usize, rowIn: usize, h: i32, how: i32): void {
  for (let r: usize = 0; r < <usize>FC_TILE_M; r++) {
    const ar = a + r * rowIn, br = b + r * rowIn;
    for (let k = 0; k < h; k++) {
      const bk = how == ONLY ? 0 : <i32>load<i8>(br + <usize>k);
      const v = <i32>load<i8>(ar + <usize>k) + (how == SUB ? -bk : bk);
      store<i16>(dst + ((<usize>k >> 1) << 4) + (r << 2) + ((<usize>k & 1) << 1), <i16>v);
    }
  }
}

// Eight values of one row, widened to int16 and combined (a, a + b or a - b).
// @ts-ignore: decorator
@inline
function rowSum8(a: usize, b: usize, how: i32): v128 {
  const v = v128.load8x8_s(a);
  if (how == ADD) return i16x8.add(v, v128.load8x8_s(b));
  if (how == SUB) return i16x8.sub(v, v128.load8x8_s(b));
  return v;
}

// SIMD version: eight values of four rows per step, then [pair][row] order as the pair layout's
// widened tile (storePairRows; h is a multiple of 8).
// @ts-ignore: decorator
@inline
function inputSumsSimd(dst: usize, a: usize, b: usize, rowIn: usize, h: i32, how: i32): void {
  let d = dst;
  for (let k: usize = 0; k < <usize>h; k += 8) {
    const ak = a + k, bk = b + k;
    storePairRows(d, rowSum8(ak, bk, how), rowSum8(ak + rowIn, bk + rowIn, how),
      rowSum8(ak + 2 * rowIn, bk + 2 * rowIn, how), rowSum8(ak + 3 * rowIn, bk + 3 * rowIn, how));
    d += 64;
  }
}

// One input-sum tile on the build's path.
// @ts-ignore: decorator
@inline
function inputSum(dst: usize, a: usize, b: usize, rowIn: usize, h: i32, how: i32): void {
  if (ASC_FEATURE_SIMD) inputSumsSimd(dst, a, b, rowIn, h, how);
  else inputSumsScalar(dst, a, b, rowIn, h, how);
}

// The seven input-sum tiles of the tile whose top-half rows start at x (bottom half at x + mid),
// each h = K/2 values deep: S0 = X11 + X22, S1 = X21 + X22, S2 = X11, S3 = X22, S4 = X11 + X12,
// S5 = X21 - X11, S6 = X12 - X22.
// @ts-ignore: decorator
@inline
function inputSums(s: usize, x: usize, mid: usize, rowIn: usize, h: i32): void {
  const stride = <usize>h << 3;  // h/2 pairs x 16 bytes
  const x11 = x, x12 = x + <usize>h, x21 = x + mid, x22 = x21 + <usize>h;
  inputSum(s, x11, x22, rowIn, h, ADD);
  inputSum(s + stride, x21, x22, rowIn, h, ADD);
  inputSum(s + 2 * stride, x11, x11, rowIn, h, ONLY);
  inputSum(s + 3 * stride, x22, x22, rowIn, h, ONLY);
  inputSum(s + 4 * stride, x11, x12, rowIn, h, ADD);
  inputSum(s + 5 * stride, x21, x11, rowIn, h, SUB);
  inputSum(s + 6 * stride, x12, x22, rowIn, h, SUB);
}

// ---- products -----------------------------------------------------------------------------

// Plain version: one 4 x 8 product tile (input sums xp..xEnd, weight sums from wp) into dst, two
// rows by four channels at a time (the pair layout's scalar loop, fully_connected.ts).
// @ts-ignore: decorator
@inline
function productScalar(xp: usize, xEnd: usize, wp: usize, dst: usize): void {
  for (let r: usize = 0; r < <usize>FC_TILE_M; r += 2) {
    for (let c: usize = 0; c < <usize>FC_GROUP; c += 4) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      let w = wp + (c << 2);
      for (let x = xp + (r << 2); x < xEnd; x += 16) {
        const u0 = <i32>load<i16>(x), u1 = <i32>load<i16>(x, 2);
        const v0 = <i32>load<i16>(x, 4), v1 = <i32>load<i16>(x, 6);
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
      const d = dst + (r << 5) + (c << 2);
      store<i32>(d, a0); store<i32>(d, a1, 4); store<i32>(d, a2, 8); store<i32>(d, a3, 12);
      store<i32>(d, b0, 32); store<i32>(d, b1, 36); store<i32>(d, b2, 40); store<i32>(d, b3, 44);
    }
  }
}

// ---- the op -------------------------------------------------------------------------------

export function fullyConnectedStrassen(p: usize): void {
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
  if (ASC_FEATURE_SIMD && approx) storeApproxConstants(p);
  const m0 = load<i32>(mult);
  const sh0 = load<i32>(shift);
  const h = inDepth >> 1;                 // half depth, a multiple of 8
  const halfRows = batches >> 1;          // a multiple of FC_TILE_M
  const halfOut = outDepth >> 1;          // a multiple of FC_GROUP
  const sBytes = <usize>h << 3;           // one input-sum tile: h/2 pairs x 16 bytes
  const wBytes = <usize>h << 4;           // one product's weight block: h/2 pairs x 32 bytes
  const prod = scratch + 7 * sBytes;
  const rowIn = <usize>inDepth, rowOut = <usize>outDepth;
  const mid = <usize>halfRows * rowIn;    // input offset of the bottom half
  const outMid = <usize>halfRows * rowOut;
  const cMid = <usize>halfOut;
  for (let m = 0; m < halfRows; m += FC_TILE_M) {
    inputSums(scratch, input + <usize>m * rowIn, mid, rowIn, h);
    const y11 = output + <usize>m * rowOut;
    let wp = weights;
    for (let g = 0; g < halfOut; g += FC_GROUP) {
      for (let i: usize = 0; i < 7; i++) {
        const xs = scratch + i * sBytes;
        if (ASC_FEATURE_SIMD) pairTileSums(xs, xs + sBytes, wp, i32x4.splat(0), i32x4.splat(0), prod + i * PTILE);
        else productScalar(xs, xs + sBytes, wp, prod + i * PTILE);
        wp += wBytes;
      }
      const gb = bias + (<usize>g << 2);
      const gy = y11 + <usize>g;
      if (ASC_FEATURE_SIMD) {
        const bA = v128.load(gb), bB = v128.load(gb, 16);
        const cA = v128.load(gb + (cMid << 2)), cB = v128.load(gb + (cMid << 2), 16);
        for (let r: usize = 0; r < <usize>FC_TILE_M; r++) {
          for (let half: usize = 0; half < 2; half++) {
            // Lanes of channels 4 * half .. 4 * half + 3 of row r in each product.
            const o = prod + (r << 5) + (half << 4);
            const p0 = v128.load(o), p1 = v128.load(o, PTILE), p2 = v128.load(o, 2 * PTILE);
            const p3 = v128.load(o, 3 * PTILE), p4 = v128.load(o, 4 * PTILE);
            const p5 = v128.load(o, 5 * PTILE), p6 = v128.load(o, 6 * PTILE);
            const q = SPILL4 + (half << 4);
            v128.store(q, i32x4.add(i32x4.add(p0, p3), i32x4.sub(p6, p4)));
            v128.store(q, i32x4.add(p2, p4), 32);
            v128.store(q, i32x4.add(p1, p3), 64);
            v128.store(q, i32x4.add(i32x4.sub(p0, p1), i32x4.add(p2, p5)), 96);
          }
          const yr = gy + r * rowOut;
          storeRow8(i32x4.add(v128.load(SPILL4), bA), i32x4.add(v128.load(SPILL4, 16), bB), yr,
            FC_GROUP, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
          storeRow8(i32x4.add(v128.load(SPILL4, 32), cA), i32x4.add(v128.load(SPILL4, 48), cB), yr + cMid,
            FC_GROUP, g + halfOut, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
          storeRow8(i32x4.add(v128.load(SPILL4, 64), bA), i32x4.add(v128.load(SPILL4, 80), bB), yr + outMid,
            FC_GROUP, g, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
          storeRow8(i32x4.add(v128.load(SPILL4, 96), cA), i32x4.add(v128.load(SPILL4, 112), cB), yr + outMid + cMid,
            FC_GROUP, g + halfOut, uniform, approx, mult, shift, m0, sh0, zp, lo, hi);
        }
      } else {
        for (let r: usize = 0; r < <usize>FC_TILE_M; r++) {
          const yr = y11 + r * rowOut;
          for (let c: usize = 0; c < <usize>FC_GROUP; c++) {
            const o = prod + (r << 5) + (c << 2);
            const p0 = load<i32>(o), p1 = load<i32>(o, PTILE), p2 = load<i32>(o, 2 * PTILE);
            const p3 = load<i32>(o, 3 * PTILE), p4 = load<i32>(o, 4 * PTILE);
            const p5 = load<i32>(o, 5 * PTILE), p6 = load<i32>(o, 6 * PTILE);
            const bl = load<i32>(gb + (c << 2)), bh = load<i32>(gb + ((cMid + c) << 2));
            const ch = g + <i32>c;
            requantizeStore(p0 + p3 - p4 + p6 + bl, yr, mult, shift, ch, zp, lo, hi);
            requantizeStore(p2 + p4 + bh, yr, mult, shift, ch + halfOut, zp, lo, hi);
            requantizeStore(p1 + p3 + bl, yr + outMid, mult, shift, ch, zp, lo, hi);
            requantizeStore(p0 - p1 + p2 + p5 + bh, yr + outMid, mult, shift, ch + halfOut, zp, lo, hi);
          }
        }
      }
    }
  }
}
