// CONV_2D 3x3, stride 1, dilation 1: Winograd F(2x2, 3x3) in exact integer arithmetic.
//
// Each 2x2 block of outputs ("tile") is computed from its 4x4 input patch d (values x - inZp, 0 for
// padding) with 16 multiplications per channel pair instead of 36:
//   V = Bt d B            (adds only; |V| <= 4 * 255 fits i16)
//   M[xi] = sum over input channels of V[xi] * U[xi]      (xi = 0..15, one GEMM each)
//   4 * Y = At M A        (adds only), Y = (At M A) >> 2
// with U = G' g G't the filter transformed by G' = 2G (integer; the host computes it, |U| <= 9 * 127
// fits i16). Since At (G g Gt . Bt d B) A is the exact convolution and G' = 2G, At M A is exactly
// 4 * Y, an integer multiple of 4, so the shift is exact and Y equals the direct sum bit for bit.
// The host applies this path only when every intermediate fits i32 (host/runtime/ops/conv2d.ts).
//
// Parameter words (after the CONV_2D words 0..24 of conv2d.ts):
//   25 U: the transformed weights, i16, [xi][group of 8 output channels][IC/2 channel pairs]
//      [channel 0..7][2 input channels] (32 bytes per channel pair), 0 when the path is off
//   Scratch (word 5) holds, for a block of WG_TILES tiles, V rows [xi][tile][IC] i16 and then
//   M [xi][tile][8] i32 (the scalar path uses the first tile's rows and M entries only).
// Requires IC % 8 == 0 and N == 1 (checked by the host).
// Two paths over the same layouts: SIMD (4 tiles x 8 channels per register block) and a plain
// scalar one (one tile, 8 channels at a time), for the builds without SIMD.
import { param } from "../fixedpoint";
import { requantize8, requantizeOne, storeBytes, rqFast, rqLeft, rqRoundZp, rqApprox, approxMagicZp } from "./requantize";

/** Tiles per register block (the GEMM's four pixel rows). */
const WG_TILES = 4;

export function conv2dWinograd(p: usize): void {
  if (ASC_FEATURE_SIMD) winogradSimd(p);
  else winogradScalar(p);
}

function winogradSimd(p: usize): void {
  const input = <usize>param(p, 0);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const scratch = <usize>param(p, 5);
  const H = param(p, 7), W = param(p, 8), IC = param(p, 9);
  const OH = param(p, 10), OW = param(p, 11), OC = param(p, 12);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZpS = param(p, 22);
  const U = <usize>param(p, 25);
  const OCp = (OC + 7) & ~7;
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>param(p, 23));
  const actMax = i16x8.splat(<i16>param(p, 24));
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq), magicZp = approxMagicZp(outZpS);
  const zv = i16x8.splat(<i16>inZp);
  const KPw = IC >> 1;
  const rowBytes = <usize>IC << 1;
  const vArea = scratch;
  const mArea = scratch + <usize>(16 * WG_TILES) * rowBytes;
  const groupBytes = <usize>KPw << 5;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  const T = TH * TW;
  for (let t0 = 0; t0 < T; t0 += WG_TILES) {
    const tiles = T - t0 < WG_TILES ? T - t0 : WG_TILES;
    // Input transform of each tile of the block, 8 channels at a time.
    for (let i = 0; i < tiles; i++) {
      const t = t0 + i;
      const ty = t / TW, tx = t - (t / TW) * TW;
      const iy0 = 2 * ty - padT, ix0 = 2 * tx - padL;
      const inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= H && ix0 + 4 <= W;
      const vRow = vArea + <usize>i * rowBytes;
      for (let c = 0; c < IC; c += 8) {
        let d00: v128, d01: v128, d02: v128, d03: v128, d10: v128, d11: v128, d12: v128, d13: v128;
        let d20: v128, d21: v128, d22: v128, d23: v128, d30: v128, d31: v128, d32: v128, d33: v128;
        if (inside) {
          const rowStep = <usize>(W * IC), px = <usize>IC;
          let s = input + <usize>((iy0 * W + ix0) * IC + c);
          d00 = i16x8.sub(v128.load8x8_s(s), zv); d01 = i16x8.sub(v128.load8x8_s(s + px), zv);
          d02 = i16x8.sub(v128.load8x8_s(s + 2 * px), zv); d03 = i16x8.sub(v128.load8x8_s(s + 3 * px), zv);
          s += rowStep;
          d10 = i16x8.sub(v128.load8x8_s(s), zv); d11 = i16x8.sub(v128.load8x8_s(s + px), zv);
          d12 = i16x8.sub(v128.load8x8_s(s + 2 * px), zv); d13 = i16x8.sub(v128.load8x8_s(s + 3 * px), zv);
          s += rowStep;
          d20 = i16x8.sub(v128.load8x8_s(s), zv); d21 = i16x8.sub(v128.load8x8_s(s + px), zv);
          d22 = i16x8.sub(v128.load8x8_s(s + 2 * px), zv); d23 = i16x8.sub(v128.load8x8_s(s + 3 * px), zv);
          s += rowStep;
          d30 = i16x8.sub(v128.load8x8_s(s), zv); d31 = i16x8.sub(v128.load8x8_s(s + px), zv);
          d32 = i16x8.sub(v128.load8x8_s(s + 2 * px), zv); d33 = i16x8.sub(v128.load8x8_s(s + 3 * px), zv);
        } else {
          d00 = patch(input, iy0, ix0, H, W, IC, c, zv); d01 = patch(input, iy0, ix0 + 1, H, W, IC, c, zv);
          d02 = patch(input, iy0, ix0 + 2, H, W, IC, c, zv); d03 = patch(input, iy0, ix0 + 3, H, W, IC, c, zv);
          d10 = patch(input, iy0 + 1, ix0, H, W, IC, c, zv); d11 = patch(input, iy0 + 1, ix0 + 1, H, W, IC, c, zv);
          d12 = patch(input, iy0 + 1, ix0 + 2, H, W, IC, c, zv); d13 = patch(input, iy0 + 1, ix0 + 3, H, W, IC, c, zv);
          d20 = patch(input, iy0 + 2, ix0, H, W, IC, c, zv); d21 = patch(input, iy0 + 2, ix0 + 1, H, W, IC, c, zv);
          d22 = patch(input, iy0 + 2, ix0 + 2, H, W, IC, c, zv); d23 = patch(input, iy0 + 2, ix0 + 3, H, W, IC, c, zv);
          d30 = patch(input, iy0 + 3, ix0, H, W, IC, c, zv); d31 = patch(input, iy0 + 3, ix0 + 1, H, W, IC, c, zv);
          d32 = patch(input, iy0 + 3, ix0 + 2, H, W, IC, c, zv); d33 = patch(input, iy0 + 3, ix0 + 3, H, W, IC, c, zv);
        }
        // Bt d: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), per column.
        const r00 = i16x8.sub(d00, d20), r01 = i16x8.sub(d01, d21), r02 = i16x8.sub(d02, d22), r03 = i16x8.sub(d03, d23);
        const r10 = i16x8.add(d10, d20), r11 = i16x8.add(d11, d21), r12 = i16x8.add(d12, d22), r13 = i16x8.add(d13, d23);
        const r20 = i16x8.sub(d20, d10), r21 = i16x8.sub(d21, d11), r22 = i16x8.sub(d22, d12), r23 = i16x8.sub(d23, d13);
        const r30 = i16x8.sub(d10, d30), r31 = i16x8.sub(d11, d31), r32 = i16x8.sub(d12, d32), r33 = i16x8.sub(d13, d33);
        // (Bt d) B: the same combination along each row; V[xi] goes to row (xi, i) at channel c.
        const dst = vRow + (<usize>c << 1);
        storeBtRow(dst, r00, r01, r02, r03, 0, rowBytes);
        storeBtRow(dst, r10, r11, r12, r13, 4, rowBytes);
        storeBtRow(dst, r20, r21, r22, r23, 8, rowBytes);
        storeBtRow(dst, r30, r31, r32, r33, 12, rowBytes);
      }
    }
    // Per group of 8 output channels: the 16 GEMMs into M, then the output transform.
    const row0 = vArea, row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
    const xiStride = <usize>WG_TILES * rowBytes;
    for (let g = 0; g < OCp; g += 8) {
      let w = U + <usize>(g >> 3) * groupBytes;
      for (let xi = 0; xi < 16; xi++) {
        const xoff = <usize>xi * xiStride;
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        let xo = xoff;
        for (let q = 0; q < KPw; q++) {
          const wlo = v128.load(w);
          const whi = v128.load(w, 16);
          const x0 = v128.load32_splat(row0 + xo);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo));
          b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
          const x1 = v128.load32_splat(row1 + xo);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo));
          b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
          const x2 = v128.load32_splat(row2 + xo);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo));
          b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
          const x3 = v128.load32_splat(row3 + xo);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo));
          b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          xo += 4;
          w += 32;
        }
        // The next xi's weights of this group follow after the other groups' (layout [xi][g]).
        w += <usize>((OCp >> 3) - 1) * groupBytes;
        const m = mArea + (<usize>xi << 7);
        v128.store(m, a0); v128.store(m, b0, 16);
        v128.store(m, a1, 32); v128.store(m, b1, 48);
        v128.store(m, a2, 64); v128.store(m, b2, 80);
        v128.store(m, a3, 96); v128.store(m, b3, 112);
      }
      const n = OC - g < 8 ? OC - g : 8;
      const bLo = v128.load(bias + (<usize>g << 2)), bHi = v128.load(bias + (<usize>g << 2), 16);
      for (let i = 0; i < tiles; i++) {
        const t = t0 + i;
        const ty = t / TW, tx = t - (t / TW) * TW;
        const oy = 2 * ty, ox = 2 * tx;
        const mt = mArea + (<usize>i << 5);
        // At M A for both halves of the 8 channels (s = At M, then y = s A); y >> 2, then the bias.
        const l0 = sTop(mt, 0), l1 = sTop(mt, 1), l2 = sTop(mt, 2), l3 = sTop(mt, 3);
        const lb0 = sBottom(mt, 0), lb1 = sBottom(mt, 1), lb2 = sBottom(mt, 2), lb3 = sBottom(mt, 3);
        const h0 = sTop(mt + 16, 0), h1 = sTop(mt + 16, 1), h2 = sTop(mt + 16, 2), h3 = sTop(mt + 16, 3);
        const hb0 = sBottom(mt + 16, 0), hb1 = sBottom(mt + 16, 1), hb2 = sBottom(mt + 16, 2), hb3 = sBottom(mt + 16, 3);
        const lo00 = i32x4.add(i32x4.add(l0, l1), l2), lo01 = i32x4.sub(i32x4.sub(l1, l2), l3);
        const hi00 = i32x4.add(i32x4.add(h0, h1), h2), hi01 = i32x4.sub(i32x4.sub(h1, h2), h3);
        const lo10 = i32x4.add(i32x4.add(lb0, lb1), lb2), lo11 = i32x4.sub(i32x4.sub(lb1, lb2), lb3);
        const hi10 = i32x4.add(i32x4.add(hb0, hb1), hb2), hi11 = i32x4.sub(i32x4.sub(hb1, hb2), hb3);
        const dst = output + <usize>((oy * OW + ox) * OC + g);
        storeBytes(dst, requantize8(i32x4.add(i32x4.shr_s(lo00, 2), bLo), i32x4.add(i32x4.shr_s(hi00, 2), bHi),
          rq, OCp, g, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), n);
        if (ox + 1 < OW) {
          storeBytes(dst + <usize>OC, requantize8(i32x4.add(i32x4.shr_s(lo01, 2), bLo), i32x4.add(i32x4.shr_s(hi01, 2), bHi),
            rq, OCp, g, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), n);
        }
        if (oy + 1 < OH) {
          const dst1 = dst + <usize>(OW * OC);
          storeBytes(dst1, requantize8(i32x4.add(i32x4.shr_s(lo10, 2), bLo), i32x4.add(i32x4.shr_s(hi10, 2), bHi),
            rq, OCp, g, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), n);
          if (ox + 1 < OW) {
            storeBytes(dst1 + <usize>OC, requantize8(i32x4.add(i32x4.shr_s(lo11, 2), bLo), i32x4.add(i32x4.shr_s(hi11, 2), bHi),
              rq, OCp, g, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), n);
          }
        }
      }
    }
  }
}

/** 8 channels of input pixel (iy, ix) minus the zero point, or 0 outside the image. */
// @ts-ignore: decorator
@inline
function patch(input: usize, iy: i32, ix: i32, H: i32, W: i32, IC: i32, c: i32, zv: v128): v128 {
  if (iy < 0 || iy >= H || ix < 0 || ix >= W) return i32x4.splat(0);
  return i16x8.sub(v128.load8x8_s(input + <usize>((iy * W + ix) * IC + c)), zv);
}

/** Row r of Bt d (values e0..e3 along x) times B: V[xi0 .. xi0+3] stored at rows xi0.. of tile. */
// @ts-ignore: decorator
@inline
function storeBtRow(dst: usize, e0: v128, e1: v128, e2: v128, e3: v128, xi0: i32, rowBytes: usize): void {
  const xiStride = <usize>WG_TILES * rowBytes;
  const d = dst + <usize>xi0 * xiStride;
  v128.store(d, i16x8.sub(e0, e2));
  v128.store(d + xiStride, i16x8.add(e1, e2));
  v128.store(d + 2 * xiStride, i16x8.sub(e2, e1));
  v128.store(d + 3 * xiStride, i16x8.sub(e1, e3));
}

/** Column col of the top row of At M (m0 + m1 + m2) for one tile; M[xi] at m + xi * 128. */
// @ts-ignore: decorator
@inline
function sTop(m: usize, col: i32): v128 {
  return i32x4.add(i32x4.add(v128.load(m + (<usize>col << 7)), v128.load(m + (<usize>(4 + col) << 7))),
    v128.load(m + (<usize>(8 + col) << 7)));
}

/** Column col of the bottom row of At M (m1 - m2 - m3). */
// @ts-ignore: decorator
@inline
function sBottom(m: usize, col: i32): v128 {
  return i32x4.sub(i32x4.sub(v128.load(m + (<usize>(4 + col) << 7)), v128.load(m + (<usize>(8 + col) << 7))),
    v128.load(m + (<usize>(12 + col) << 7)));
}

// ---------------------------------------------------------------------------------------------
// Scalar path: one tile at a time. V[xi][c] (i16) for the tile, then per group of 8 output
// channels the 16 dot products over the input channels (the transformed weights' pair layout),
// the output transform and TFLite's requantization per value.
/** Never read: the scalar product loop stores each sum here to pin its schedule (conv2dScalar). */
const WG_PIN: usize = memory.data(16, 16);

function winogradScalar(p: usize): void {
  const input = <usize>param(p, 0);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const scratch = <usize>param(p, 5);
  const H = param(p, 7), W = param(p, 8), IC = param(p, 9);
  const OH = param(p, 10), OW = param(p, 11), OC = param(p, 12);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZp = param(p, 22), actMin = param(p, 23), actMax = param(p, 24);
  const U = <usize>param(p, 25);
  const OCp = (OC + 7) & ~7;
  const G = OCp >> 3;
  const KPw = IC >> 1;
  const rowBytes = <usize>IC << 1;
  const vArea = scratch;
  const mArea = scratch + <usize>(16 * WG_TILES) * rowBytes;
  const groupBytes = <usize>KPw << 5;
  const TW = (OW + 1) >> 1;
  const T = ((OH + 1) >> 1) * TW;
  for (let t = 0; t < T; t++) {
    const ty = t / TW, tx = t - (t / TW) * TW;
    const iy0 = 2 * ty - padT, ix0 = 2 * tx - padL;
    // V = Bt d B per input channel; row xi of the tile at vArea + xi * rowBytes.
    for (let c = 0; c < IC; c++) {
      const x = input + <usize>c;
      const d00 = tap(x, iy0, ix0, H, W, IC, inZp), d01 = tap(x, iy0, ix0 + 1, H, W, IC, inZp);
      const d02 = tap(x, iy0, ix0 + 2, H, W, IC, inZp), d03 = tap(x, iy0, ix0 + 3, H, W, IC, inZp);
      const d10 = tap(x, iy0 + 1, ix0, H, W, IC, inZp), d11 = tap(x, iy0 + 1, ix0 + 1, H, W, IC, inZp);
      const d12 = tap(x, iy0 + 1, ix0 + 2, H, W, IC, inZp), d13 = tap(x, iy0 + 1, ix0 + 3, H, W, IC, inZp);
      const d20 = tap(x, iy0 + 2, ix0, H, W, IC, inZp), d21 = tap(x, iy0 + 2, ix0 + 1, H, W, IC, inZp);
      const d22 = tap(x, iy0 + 2, ix0 + 2, H, W, IC, inZp), d23 = tap(x, iy0 + 2, ix0 + 3, H, W, IC, inZp);
      const d30 = tap(x, iy0 + 3, ix0, H, W, IC, inZp), d31 = tap(x, iy0 + 3, ix0 + 1, H, W, IC, inZp);
      const d32 = tap(x, iy0 + 3, ix0 + 2, H, W, IC, inZp), d33 = tap(x, iy0 + 3, ix0 + 3, H, W, IC, inZp);
      const dst = vArea + (<usize>c << 1);
      storeBtRowScalar(dst, d00 - d20, d01 - d21, d02 - d22, d03 - d23, 0, rowBytes);
      storeBtRowScalar(dst, d10 + d20, d11 + d21, d12 + d22, d13 + d23, 4, rowBytes);
      storeBtRowScalar(dst, d20 - d10, d21 - d11, d22 - d12, d23 - d13, 8, rowBytes);
      storeBtRowScalar(dst, d10 - d30, d11 - d31, d12 - d32, d13 - d33, 12, rowBytes);
    }
    const oy = 2 * ty, ox = 2 * tx;
    for (let g = 0; g < OCp; g += 8) {
      // M[xi][o] for the group's 8 channels, at mArea + (xi * 8 + o) * 4.
      for (let xi = 0; xi < 16; xi++) {
        let w = U + <usize>(xi * G + (g >> 3)) * groupBytes;
        let v = vArea + <usize>xi * rowBytes;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (let q = 0; q < KPw; q++) {
          const x0 = <i32>load<i16>(v), x1 = <i32>load<i16>(v, 2);
          a0 += x0 * <i32>load<i16>(w) + x1 * <i32>load<i16>(w, 2); store<i32>(WG_PIN, a0);
          a1 += x0 * <i32>load<i16>(w, 4) + x1 * <i32>load<i16>(w, 6); store<i32>(WG_PIN, a1);
          a2 += x0 * <i32>load<i16>(w, 8) + x1 * <i32>load<i16>(w, 10); store<i32>(WG_PIN, a2);
          a3 += x0 * <i32>load<i16>(w, 12) + x1 * <i32>load<i16>(w, 14); store<i32>(WG_PIN, a3);
          a4 += x0 * <i32>load<i16>(w, 16) + x1 * <i32>load<i16>(w, 18); store<i32>(WG_PIN, a4);
          a5 += x0 * <i32>load<i16>(w, 20) + x1 * <i32>load<i16>(w, 22); store<i32>(WG_PIN, a5);
          a6 += x0 * <i32>load<i16>(w, 24) + x1 * <i32>load<i16>(w, 26); store<i32>(WG_PIN, a6);
          a7 += x0 * <i32>load<i16>(w, 28) + x1 * <i32>load<i16>(w, 30); store<i32>(WG_PIN, a7);
          v += 4;
          w += 32;
        }
        const m = mArea + (<usize>xi << 5);
        store<i32>(m, a0); store<i32>(m, a1, 4); store<i32>(m, a2, 8); store<i32>(m, a3, 12);
        store<i32>(m, a4, 16); store<i32>(m, a5, 20); store<i32>(m, a6, 24); store<i32>(m, a7, 28);
      }
      const n = OC - g < 8 ? OC - g : 8;
      for (let o = 0; o < n; o++) {
        const mo = mArea + (<usize>o << 2);
        // s = At M (top row: m0 + m1 + m2, bottom: m1 - m2 - m3 per column), then y = s A.
        const t0 = colTop(mo, 0), t1 = colTop(mo, 1), t2 = colTop(mo, 2), t3 = colTop(mo, 3);
        const b0 = colBottom(mo, 0), b1 = colBottom(mo, 1), b2 = colBottom(mo, 2), b3 = colBottom(mo, 3);
        const bz = load<i32>(bias + (<usize>(g + o) << 2));
        const dst = output + <usize>((oy * OW + ox) * OC + g + o);
        store<i8>(dst, <i8>requantizeOne(((t0 + t1 + t2) >> 2) + bz, rq, OCp, g + o, outZp, actMin, actMax));
        if (ox + 1 < OW) {
          store<i8>(dst + <usize>OC, <i8>requantizeOne(((t1 - t2 - t3) >> 2) + bz, rq, OCp, g + o, outZp, actMin, actMax));
        }
        if (oy + 1 < OH) {
          const dst1 = dst + <usize>(OW * OC);
          store<i8>(dst1, <i8>requantizeOne(((b0 + b1 + b2) >> 2) + bz, rq, OCp, g + o, outZp, actMin, actMax));
          if (ox + 1 < OW) {
            store<i8>(dst1 + <usize>OC, <i8>requantizeOne(((b1 - b2 - b3) >> 2) + bz, rq, OCp, g + o, outZp, actMin, actMax));
          }
        }
      }
    }
  }
}

/** Input value (x - inZp) of channel pointer x at (iy, ix), 0 outside the image. */
// @ts-ignore: decorator
@inline
function tap(x: usize, iy: i32, ix: i32, H: i32, W: i32, IC: i32, inZp: i32): i32 {
  if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0;
  return <i32>load<i8>(x + <usize>((iy * W + ix) * IC)) - inZp;
}

/** Row r of Bt d (e0..e3 along x) times B, stored as i16 at rows xi0..xi0+3 (stride rowBytes). */
// @ts-ignore: decorator
@inline
function storeBtRowScalar(dst: usize, e0: i32, e1: i32, e2: i32, e3: i32, xi0: i32, rowBytes: usize): void {
  const d = dst + <usize>xi0 * rowBytes;
  store<i16>(d, <i16>(e0 - e2));
  store<i16>(d + rowBytes, <i16>(e1 + e2));
  store<i16>(d + 2 * rowBytes, <i16>(e2 - e1));
  store<i16>(d + 3 * rowBytes, <i16>(e1 - e3));
}

/** Column col of At M's top row for one channel: M[xi] at mo + xi * 32. */
// @ts-ignore: decorator
@inline
function colTop(mo: usize, col: i32): i32 {
  return load<i32>(mo + (<usize>col << 5)) + load<i32>(mo + (<usize>(4 + col) << 5)) + load<i32>(mo + (<usize>(8 + col) << 5));
}

/** Column col of At M's bottom row. */
// @ts-ignore: decorator
@inline
function colBottom(mo: usize, col: i32): i32 {
  return load<i32>(mo + (<usize>(4 + col) << 5)) - load<i32>(mo + (<usize>(8 + col) << 5)) - load<i32>(mo + (<usize>(12 + col) << 5));
}
