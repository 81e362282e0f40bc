// CONV_2D, int8 NHWC activations x int8 per-channel weights (zero point 0), int32 bias.
// Bit-exact with TFLite Micro's reference kernel:
//   acc = bias[oc] + sum over taps inside the input of (x - inZp) * w
//   out = clamp(MultiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]) + outZp, actMin, actMax)
//
// Parameter words (written by host/runtime/ops/conv2d.ts):
//   0 input   int8 [N, H, W, IC]
//   1 weights packed int8 (see below)
//   2 bias    int32 [OCp] (zeros when the model has none; entries >= OC are 0)
//   3 rq      requantization table for OCp channels (assembly/kernels/requantize.ts)
//   4 output  int8 [N, OH, OW, OC]
//   5 scratch CONV_ROWS rows of roundup(2*K2 + 16, 16) bytes (K2 i16 values plus slack), 16-aligned
//   6 N   7 H   8 W   9 IC   10 OH   11 OW   12 OC   13 KH   14 KW
//   15 strideH  16 strideW  17 dilationH  18 dilationW  19 padTop  20 padLeft
//   21 inZp  22 outZp  23 actMin  24 actMax
//   25 Winograd-transformed weights, or 0 (assembly/kernels/conv2d_winograd.ts; word 1 is then 0)
//   26 direct-tile weights, or 0 (at most 8 output channels; see conv2dDirectSimd)
//   27 bias with the input zero point folded in (with word 26)
//
// The convolution runs as a GEMM: each output pixel's receptive field is gathered into a row of
// K = KH*KW*IC values ("im2col", k = (ky*KW + kx)*IC + ic, the OHWI order), stored as i16
// (x - inZp), 0 for padding and for the tail up to K2 = roundup(K, 2).
// Weights are packed by the host in groups of 8 output channels (OCp = roundup(OC, 8)), each
// group as K2/2 blocks of 16 bytes: [channel 0..7][2 consecutive k] (zero-filled padding).
// i32x4.dot_i16x8_s of a splat pair (x[k], x[k+1]) with one 8-byte block half gives 4 channels'
// partial sums directly; the scalar loop reads the same layout.
// Pointwise convolutions with K a multiple of 8 gather a tile's four pixels as one panel instead
// of four rows: 16 bytes per k-pair, [pixel 0..3][x[k], x[k+1]], so the SIMD loop reads all four
// pairs from one moving pointer at constant offsets (separate rows cost an address add each).
import { param } from "../fixedpoint";
import { conv2dWinograd } from "./conv2d_winograd";
import {
  requantizeOne, requantize4, requantize4Fast, rqConst, narrowClamp8, storeBytes, storeBytesHigh, rqFast, rqLeft,
  rqRoundZp, rqApprox, approxMagicZp, approxColumns, approxY, approxFrac, approxValue,
} from "./requantize";

export function conv2d(p: usize): void {
  // 3x3 stride 1 with transformed weights: Winograd F(2x2, 3x3), exact (conv2d_winograd.ts).
  if (param(p, 25) != 0) conv2dWinograd(p);
  else if (ASC_FEATURE_SIMD && param(p, 26) != 0) conv2dDirectSimd(p);
  else if (ASC_FEATURE_SIMD) conv2dSimd(p);
  else conv2dScalar(p);
}

// ---- geometry shared by the row gatherers (set once per call) ----
let gIn: usize = 0;
let gH: i32 = 0;
let gW: i32 = 0;
let gIC: i32 = 0;
let gKH: i32 = 0;
let gKW: i32 = 0;
let gSH: i32 = 0;
let gSW: i32 = 0;
let gDH: i32 = 0;
let gDW: i32 = 0;
let gPadT: i32 = 0;
let gPadL: i32 = 0;
let gInZp: i32 = 0;
let gK: i32 = 0;
let gK2: i32 = 0;
/** 1x1 kernel, stride 1, no padding: pixel m's receptive field is input pixel m. */
let gPointwise: bool = false;
/** End of the input tensor: SIMD loads of 8 bytes never cross it. */
let gInEnd: usize = 0;

function loadGeometry(p: usize): void {
  gIn = <usize>param(p, 0);
  gH = param(p, 7);
  gW = param(p, 8);
  gIC = param(p, 9);
  gKH = param(p, 13);
  gKW = param(p, 14);
  gSH = param(p, 15);
  gSW = param(p, 16);
  gDH = param(p, 17);
  gDW = param(p, 18);
  gPadT = param(p, 19);
  gPadL = param(p, 20);
  gInZp = param(p, 21);
  gK = gKH * gKW * gIC;
  gK2 = (gK + 1) & ~1;
  gPointwise = gKH == 1 && gKW == 1 && gSH == 1 && gSW == 1 && gPadT == 0 && gPadL == 0;
  gInEnd = gIn + <usize>(param(p, 6) * gH * gW * gIC);
}

/**
 * Gather output pixel (b, oy, ox)'s receptive field into `row` as K2 i16 values (x - inZp, 0 for
 * padding and the tail). The row needs 16 bytes of slack after K2 values: the SIMD code writes
 * whole 8-value chunks, and a chunk's excess past a segment is overwritten by the next segment
 * (or lands in the tail / slack).
 */
function gatherRow(row: usize, b: i32, oy: i32, ox: i32): void {
  const IC = gIC, H = gH, W = gW, KH = gKH, KW = gKW, zp = gInZp;
  if (gPointwise) {
    widen(row, gIn + <usize>(((b * H + oy) * W + ox) * IC), IC, zp);
  } else {
    const iy0 = oy * gSH - gPadT;
    const ix0 = ox * gSW - gPadL;
    const segBytes = <usize>IC << 1;
    // With dilation 1 along x and all taps of a kernel row inside, the row is contiguous.
    const xInside = ix0 >= 0 && ix0 + (KW - 1) * gDW < W;
    const contiguous = xInside && gDW == 1;
    let dst = row;
    if (contiguous && iy0 >= 0 && iy0 + (KH - 1) * gDH < H) {
      // Interior pixel: KH contiguous runs of KW * IC values.
      const seg = KW * IC;
      const step = <usize>(gDH * W * IC);
      let src = gIn + <usize>(((b * H + iy0) * W + ix0) * IC);
      for (let ky = 0; ky < KH; ky++) {
        widen(dst, src, seg, zp);
        dst += <usize>seg << 1;
        src += step;
      }
      if (gK & 1) store<i16>(row + (<usize>gK << 1), 0);
      return;
    }
    for (let ky = 0; ky < gKH; ky++) {
      const iy = iy0 + ky * gDH;
      if (iy < 0 || iy >= gH) {
        zeroI16(dst, gKW * IC);
        dst += segBytes * <usize>gKW;
        continue;
      }
      const rowBase = gIn + <usize>((b * gH + iy) * gW * IC);
      if (contiguous) {
        widen(dst, rowBase + <usize>(ix0 * IC), gKW * IC, gInZp);
        dst += segBytes * <usize>gKW;
        continue;
      }
      for (let kx = 0; kx < gKW; kx++) {
        const ix = ix0 + kx * gDW;
        if (ix >= 0 && ix < gW) widen(dst, rowBase + <usize>(ix * IC), IC, gInZp);
        else zeroI16(dst, IC);
        dst += segBytes;
      }
    }
  }
  if (gK & 1) store<i16>(row + (<usize>gK << 1), 0);
}

/** n i16 values (x - zp) from n int8 at src (SIMD: may write up to 7 more values). */
// @ts-ignore: decorator
@inline
function widen(dst: usize, src: usize, n: i32, zp: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zv = i16x8.splat(<i16>zp);
    const safe = gInEnd - 8; // chunks starting at or below this stay inside the input
    for (; i < n; i += 8) {
      const s = src + <usize>i;
      if (s > safe) break;
      v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(s), zv));
    }
  }
  for (; i < n; i++) {
    store<i16>(dst + (<usize>i << 1), <i16>(<i32>load<i8>(src + <usize>i) - zp));
  }
}

// @ts-ignore: decorator
@inline
function zeroI16(dst: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    for (let i = 0; i < n; i += 8) v128.store(dst + (<usize>i << 1), i32x4.splat(0));
  } else {
    for (let i = 0; i < n; i++) store<i16>(dst + (<usize>i << 1), 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar path: one gathered row per output pixel, then dot products with 8 channels at a time.
function conv2dScalar(p: usize): void {
  loadGeometry(p);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const row = <usize>param(p, 5);
  const N = param(p, 6);
  const OH = param(p, 10);
  const OW = param(p, 11);
  const OC = param(p, 12);
  const outZp = param(p, 22);
  const actMin = param(p, 23);
  const actMax = param(p, 24);
  const OCp = (OC + 7) & ~7;
  const KP = gK2 >> 1;
  let out = output;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        gatherRow(row, b, oy, ox);
        // Eight output channels at a time: each weight block (16 bytes) is read once.
        let wp = weights;
        for (let g = 0; g < OC; g += 8) {
          const bg = bias + (<usize>g << 2);
          let a0 = load<i32>(bg), a1 = load<i32>(bg, 4), a2 = load<i32>(bg, 8), a3 = load<i32>(bg, 12);
          let a4 = load<i32>(bg, 16), a5 = load<i32>(bg, 20), a6 = load<i32>(bg, 24), a7 = load<i32>(bg, 28);
          let x = row;
          // Each sum is stored to a never-read slot (CONV_PIN) after its update. A load cannot
          // move above a store, so the engine keeps each channel's two weight loads next to
          // their use instead of hoisting all sixteen to the top of the step, where they spill
          // on x64's twelve registers (scalar VWW -19%, KWS -25%, measured in one process).
          for (let q = 0; q < KP; q++) {
            const x0 = <i32>load<i16>(x), x1 = <i32>load<i16>(x, 2);
            a0 += x0 * <i32>load<i8>(wp) + x1 * <i32>load<i8>(wp, 1); store<i32>(CONV_PIN, a0);
            a1 += x0 * <i32>load<i8>(wp, 2) + x1 * <i32>load<i8>(wp, 3); store<i32>(CONV_PIN, a1);
            a2 += x0 * <i32>load<i8>(wp, 4) + x1 * <i32>load<i8>(wp, 5); store<i32>(CONV_PIN, a2);
            a3 += x0 * <i32>load<i8>(wp, 6) + x1 * <i32>load<i8>(wp, 7); store<i32>(CONV_PIN, a3);
            a4 += x0 * <i32>load<i8>(wp, 8) + x1 * <i32>load<i8>(wp, 9); store<i32>(CONV_PIN, a4);
            a5 += x0 * <i32>load<i8>(wp, 10) + x1 * <i32>load<i8>(wp, 11); store<i32>(CONV_PIN, a5);
            a6 += x0 * <i32>load<i8>(wp, 12) + x1 * <i32>load<i8>(wp, 13); store<i32>(CONV_PIN, a6);
            a7 += x0 * <i32>load<i8>(wp, 14) + x1 * <i32>load<i8>(wp, 15); store<i32>(CONV_PIN, a7);
            x += 4;
            wp += 16;
          }
          const n = OC - g;
          const o = out + <usize>g;
          store<i8>(o, <i8>requantizeOne(a0, rq, OCp, g, outZp, actMin, actMax));
          if (n > 1) store<i8>(o, <i8>requantizeOne(a1, rq, OCp, g + 1, outZp, actMin, actMax), 1);
          if (n > 2) store<i8>(o, <i8>requantizeOne(a2, rq, OCp, g + 2, outZp, actMin, actMax), 2);
          if (n > 3) store<i8>(o, <i8>requantizeOne(a3, rq, OCp, g + 3, outZp, actMin, actMax), 3);
          if (n > 4) store<i8>(o, <i8>requantizeOne(a4, rq, OCp, g + 4, outZp, actMin, actMax), 4);
          if (n > 5) store<i8>(o, <i8>requantizeOne(a5, rq, OCp, g + 5, outZp, actMin, actMax), 5);
          if (n > 6) store<i8>(o, <i8>requantizeOne(a6, rq, OCp, g + 6, outZp, actMin, actMax), 6);
          if (n > 7) store<i8>(o, <i8>requantizeOne(a7, rq, OCp, g + 7, outZp, actMin, actMax), 7);
        }
        out += <usize>OC;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD path: CONV_ROWS (4) output pixels x 8 output channels per register tile.
const CONV_ROWS = 4;

function conv2dSimd(p: usize): void {
  loadGeometry(p);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const scratch = <usize>param(p, 5);
  const N = param(p, 6);
  const OH = param(p, 10);
  const OW = param(p, 11);
  const OC = param(p, 12);
  const OCp = (OC + 7) & ~7;
  const KP = gK2 >> 1;
  const outZpS = param(p, 22);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>param(p, 23));
  const actMax = i16x8.splat(<i16>param(p, 24));
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq);
  v128.store(CONV_K, approxMagicZp(outZpS));
  const actMin8 = i8x16.splat(<i8>param(p, 23)), actMax8 = i8x16.splat(<i8>param(p, 24));
  const packedRows = gPointwise && (gK & 1) == 0;
  const panel = gPointwise && (gK & 7) == 0;
  const rowBytes = packedRows ? <usize>gK2 << 1 : ((<usize>gK2 << 1) + 31) & ~15;
  const row0 = scratch, row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
  const M = N * OH * OW;
  // Interior pixels (every tap inside the input, kernel rows contiguous: dilation 1 along x)
  // are gathered inline: [oyA, oyB) x [oxA, oxB), empty when not applicable. Chunks of 8 may
  // read up to 7 bytes past a run: the last rows of the input use gatherRow, which checks.
  const H = gH, W = gW, IC = gIC, KH = gKH, SH = gSH, SW = gSW, padT = gPadT, padL = gPadL;
  const seg = gKW * IC;
  const segBytes = <usize>seg << 1;
  const rowStep = <usize>(gDH * W * IC);
  const oddK = (gK & 1) != 0;
  const zv = i16x8.splat(<i16>gInZp);
  let oyA = (padT + SH - 1) / SH;
  let oyB = H - 1 + padT - (KH - 1) * gDH >= 0 ? (H - 1 + padT - (KH - 1) * gDH) / SH + 1 : 0;
  const oxA = (padL + SW - 1) / SW;
  let oxB = W - 1 + padL - (gKW - 1) >= 0 ? (W - 1 + padL - (gKW - 1)) / SW + 1 : 0;
  if (oyB > OH) oyB = OH;
  if (oxB > OW) oxB = OW;
  // Keep 8 bytes of input after every chunk read: drop the last rows that could run past the end.
  while (oyB > oyA && ((oyB - 1) * SH - padT + (KH - 1) * gDH) * W * IC + (oxB - 1) * SW * IC + seg + 8 > H * W * IC) oyB--;
  if (N != 1 || gDW != 1 || gPointwise) { oyA = 0; oyB = 0; }
  // The next pixel to gather.
  let b = 0, oy = 0, ox = 0;
  for (let m = 0; m < M; m += CONV_ROWS) {
    const rows = M - m < CONV_ROWS ? M - m : CONV_ROWS;
    // Rows past the last pixel keep stale values: their results are computed, not stored.
    const usePanel = panel && rows > 1;
    if (usePanel) {
      // Pointwise, K a multiple of 8: the tile's four pixels (the last repeated past the end)
      // as a panel of k-pairs, [pair q of pixel 0..3] per 16 bytes.
      const p0 = gIn + <usize>m * <usize>gK;
      const p1 = rows > 1 ? p0 + <usize>gK : p0;
      const p2 = rows > 2 ? p1 + <usize>gK : p1;
      const p3 = rows > 3 ? p2 + <usize>gK : p2;
      let d = row0;
      for (let k = 0; k < gK; k += 8) {
        const r0 = i16x8.sub(v128.load8x8_s(p0 + <usize>k), zv);
        const r1 = i16x8.sub(v128.load8x8_s(p1 + <usize>k), zv);
        const r2 = i16x8.sub(v128.load8x8_s(p2 + <usize>k), zv);
        const r3 = i16x8.sub(v128.load8x8_s(p3 + <usize>k), zv);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 48);
        d += 64;
      }
    } else if (packedRows) {
      // Pointwise with even K: the tile's rows are one contiguous run of input pixels.
      widen(row0, gIn + <usize>m * <usize>gK, rows * gK, gInZp);
    } else {
      for (let i = 0; i < rows; i++) {
        const dst = row0 + <usize>i * rowBytes;
        if (oy >= oyA && oy < oyB && ox >= oxA && ox < oxB) {
          // Interior pixel with contiguous kernel rows: KH runs of KW*IC values, no checks.
          let src = gIn + <usize>(((b * H + oy * SH - padT) * W + ox * SW - padL) * IC);
          let d = dst;
          if (seg <= 8) {
            // Short runs (first layers, few input channels): one or two chunks per kernel row.
            for (let ky = 0; ky < KH; ky++) {
              v128.store(d, i16x8.sub(v128.load8x8_s(src), zv));
              d += segBytes;
              src += rowStep;
            }
          } else if (seg <= 16) {
            for (let ky = 0; ky < KH; ky++) {
              v128.store(d, i16x8.sub(v128.load8x8_s(src), zv));
              v128.store(d, i16x8.sub(v128.load8x8_s(src, 8), zv), 16);
              d += segBytes;
              src += rowStep;
            }
          } else {
            for (let ky = 0; ky < KH; ky++) {
              for (let c = 0; c < seg; c += 8) {
                v128.store(d + (<usize>c << 1), i16x8.sub(v128.load8x8_s(src + <usize>c), zv));
              }
              d += segBytes;
              src += rowStep;
            }
          }
          if (oddK) store<i16>(dst + (<usize>gK << 1), 0);
        } else {
          gatherRow(dst, b, oy, ox);
        }
        if (++ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
      }
    }
    const out0 = output + <usize>m * <usize>OC;
    let wp = weights;
    for (let g = 0; g < OCp; g += 8) {
      let a0 = v128.load(bias + (<usize>g << 2));
      let b0 = v128.load(bias + (<usize>g << 2), 16);
      let a1 = a0, a2 = a0, a3 = a0;
      let b1 = b0, b2 = b0, b3 = b0;
      let xo: usize = 0;
      if (usePanel) {
        let pp = row0;
        for (let q = 0; q < KP; q++) {
          const wlo = v128.load8x8_s(wp);
          const whi = v128.load8x8_s(wp, 8);
          const x0 = v128.load32_splat(pp);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo));
          b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
          const x1 = v128.load32_splat(pp, 4);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo));
          b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
          const x2 = v128.load32_splat(pp, 8);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo));
          b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
          const x3 = v128.load32_splat(pp, 12);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo));
          b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          pp += 16;
          wp += 16;
        }
      } else if (rows == 1) {
        // A lone last pixel (e.g. 3x3 maps: 9 = 4 + 4 + 1): one row, not four.
        for (let q = 0; q < KP; q++) {
          const x0 = v128.load32_splat(row0 + xo);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp)));
          b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, v128.load8x8_s(wp, 8)));
          xo += 4;
          wp += 16;
        }
      } else for (let q = 0; q < KP; q++) {
        const wlo = v128.load8x8_s(wp);
        const whi = v128.load8x8_s(wp, 8);
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
        wp += 16;
      }
      requantizeTile(a0, b0, a1, b1, a2, b2, a3, b3, out0 + <usize>g, OC, OC - g < 8 ? OC - g : 8, rows, rq, OCp, g,
        approx, fast, left, roundZp, outZp, actMin, actMax, actMin8, actMax8);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD, one group of output channels (the host sets words 26 and 27: first layers such as VWW's
// 3x3x3 stride 2 with 8 channels). With one channel group a gathered row feeds too few products
// to pay for itself, so tiles of four interior pixels of one output row read their taps
// straight from the input: the input zero point is folded into the bias (word 27) and each
// kernel row's run of KW * IC taps is read as pairs of raw bytes, four pairs per 8-byte load
// (word 26: runs padded to even length with a zero weight; the pad reads the next input byte).
// Other tiles are gathered as in conv2dSimd.
function conv2dDirectSimd(p: usize): void {
  loadGeometry(p);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const scratch = <usize>param(p, 5);
  const N = param(p, 6), OH = param(p, 10), OW = param(p, 11), OC = param(p, 12);
  const dWeights = <usize>param(p, 26), biasF = <usize>param(p, 27);
  const OCp = (OC + 7) & ~7;
  const KP = gK2 >> 1;
  const outZpS = param(p, 22);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>param(p, 23)), actMax = i16x8.splat(<i16>param(p, 24));
  const actMin8 = i8x16.splat(<i8>param(p, 23)), actMax8 = i8x16.splat(<i8>param(p, 24));
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq);
  v128.store(CONV_K, approxMagicZp(outZpS));
  const rowBytes = ((<usize>gK2 << 1) + 31) & ~15;
  const row0 = scratch, row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
  const H = gH, W = gW, IC = gIC, KH = gKH, SH = gSH, SW = gSW, padT = gPadT, padL = gPadL;
  const rowStep = <usize>(W * IC);
  const runBytes = <usize>((gKW * IC + 1) & ~1);
  const chunks = <i32>(runBytes >> 3), singles = <i32>((runBytes & 7) >> 1);
  const groupBytes = <usize>KH * runBytes * 8;
  const px1 = <usize>(SW * IC), px2 = px1 << 1, px3 = px1 + px2;
  // Output pixels whose taps all lie inside the input.
  const oyA = (padT + SH - 1) / SH;
  let oyB = H - 1 + padT - (KH - 1) >= 0 ? (H - 1 + padT - (KH - 1)) / SH + 1 : 0;
  const oxA = (padL + SW - 1) / SW;
  let oxB = W - 1 + padL - (gKW - 1) >= 0 ? (W - 1 + padL - (gKW - 1)) / SW + 1 : 0;
  if (oyB > OH) oyB = OH;
  if (oxB > OW) oxB = OW;
  const M = N * OH * OW;
  let b = 0, oy = 0, ox = 0;
  for (let m = 0; m < M; m += CONV_ROWS) {
    const rows = M - m < CONV_ROWS ? M - m : CONV_ROWS;
    let base: usize = 0;
    let direct = false;
    if (rows == 4 && ox + 3 < OW && oy >= oyA && oy < oyB && ox >= oxA && ox + 3 < oxB) {
      base = gIn + <usize>(((b * H + oy * SH - padT) * W + ox * SW - padL) * IC);
      direct = base + px3 + <usize>(KH - 1) * rowStep + runBytes <= gInEnd;
    }
    if (direct) {
      ox += 4;
      if (ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
    } else {
      for (let i = 0; i < rows; i++) {
        gatherRow(row0 + <usize>i * rowBytes, b, oy, ox);
        if (++ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
      }
    }
    const out0 = output + <usize>m * <usize>OC;
    for (let g = 0; g < OCp; g += 8) {
      let a0: v128, b0: v128, a1: v128, b1: v128, a2: v128, b2: v128, a3: v128, b3: v128;
      if (direct) {
        a0 = v128.load(biasF + (<usize>g << 2)); b0 = v128.load(biasF + (<usize>g << 2), 16);
        a1 = a0; a2 = a0; a3 = a0; b1 = b0; b2 = b0; b3 = b0;
        let wq = dWeights + <usize>(g >> 3) * groupBytes;
        let rowBase = base;
        for (let ky = 0; ky < KH; ky++) {
          let q = rowBase;
          for (let j = 0; j < chunks; j++) {
            const v0 = v128.load8x8_s(q), v1 = v128.load8x8_s(q + px1), v2 = v128.load8x8_s(q + px2), v3 = v128.load8x8_s(q + px3);
          { const wlo = v128.load8x8_s(wq, 0), whi = v128.load8x8_s(wq, 8);
            const x0 = i32x4.shuffle(v0, v0, 0, 0, 0, 0);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
            const x1 = i32x4.shuffle(v1, v1, 0, 0, 0, 0);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
            const x2 = i32x4.shuffle(v2, v2, 0, 0, 0, 0);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
            const x3 = i32x4.shuffle(v3, v3, 0, 0, 0, 0);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          }
          { const wlo = v128.load8x8_s(wq, 16), whi = v128.load8x8_s(wq, 24);
            const x0 = i32x4.shuffle(v0, v0, 1, 1, 1, 1);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
            const x1 = i32x4.shuffle(v1, v1, 1, 1, 1, 1);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
            const x2 = i32x4.shuffle(v2, v2, 1, 1, 1, 1);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
            const x3 = i32x4.shuffle(v3, v3, 1, 1, 1, 1);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          }
          { const wlo = v128.load8x8_s(wq, 32), whi = v128.load8x8_s(wq, 40);
            const x0 = i32x4.shuffle(v0, v0, 2, 2, 2, 2);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
            const x1 = i32x4.shuffle(v1, v1, 2, 2, 2, 2);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
            const x2 = i32x4.shuffle(v2, v2, 2, 2, 2, 2);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
            const x3 = i32x4.shuffle(v3, v3, 2, 2, 2, 2);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          }
          { const wlo = v128.load8x8_s(wq, 48), whi = v128.load8x8_s(wq, 56);
            const x0 = i32x4.shuffle(v0, v0, 3, 3, 3, 3);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
            const x1 = i32x4.shuffle(v1, v1, 3, 3, 3, 3);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
            const x2 = i32x4.shuffle(v2, v2, 3, 3, 3, 3);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
            const x3 = i32x4.shuffle(v3, v3, 3, 3, 3, 3);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          }
            q += 8;
            wq += 64;
          }
          for (let j = 0; j < singles; j++) {
          { const wlo = v128.load8x8_s(wq, 0), whi = v128.load8x8_s(wq, 8);
            const x0 = i16x8.extend_low_i8x16_s(v128.load16_splat(q));
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
            const x1 = i16x8.extend_low_i8x16_s(v128.load16_splat(q + px1));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
            const x2 = i16x8.extend_low_i8x16_s(v128.load16_splat(q + px2));
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
            const x3 = i16x8.extend_low_i8x16_s(v128.load16_splat(q + px3));
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          }
            q += 2;
            wq += 16;
          }
          rowBase += rowStep;
        }
      } else {
        a0 = v128.load(bias + (<usize>g << 2)); b0 = v128.load(bias + (<usize>g << 2), 16);
        a1 = a0; a2 = a0; a3 = a0; b1 = b0; b2 = b0; b3 = b0;
        let wp = weights + <usize>(g >> 3) * <usize>(KP << 4);
        let xo: usize = 0;
        for (let q = 0; q < KP; q++) {
          const wlo = v128.load8x8_s(wp), whi = v128.load8x8_s(wp, 8);
          const x0 = v128.load32_splat(row0 + xo), x1 = v128.load32_splat(row1 + xo);
          const x2 = v128.load32_splat(row2 + xo), x3 = v128.load32_splat(row3 + xo);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x0, whi));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x1, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, whi));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x2, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x2, whi));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x3, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x3, whi));
          xo += 4;
          wp += 16;
        }
      }
      requantizeTile(a0, b0, a1, b1, a2, b2, a3, b3, out0 + <usize>g, OC, OC - g < 8 ? OC - g : 8, rows, rq, OCp, g,
        approx, fast, left, roundZp, outZp, actMin, actMax, actMin8, actMax8);
    }
  }
}

/** The float32 requantization's c (approxMagicZp) of the current call, stored once: engines
 * rematerialize SIMD constants inside loops, a load from a fixed address is one instruction. */
const CONV_K: usize = memory.data(16, 16);
/** Never read: the scalar conv's sums are stored here to pin its schedule (see conv2dScalar). */
const CONV_PIN: usize = memory.data(16, 16);

// The 4 x 8 results of a tile (accumulators a_r, b_r of pixel r, channels g..g+3 and g+4..g+7)
// requantized and stored: the first `n` channels of the first `rows` pixels, OC bytes apart.
// The float32 path (requantize.ts) checks the whole tile; the exact path takes over when any of
// its lanes is untrusted (~3% of tiles). Rows past the last pixel are computed, not stored.
// @ts-ignore: decorator
@inline
function requantizeTile(
  a0: v128, b0: v128, a1: v128, b1: v128, a2: v128, b2: v128, a3: v128, b3: v128, dst: usize, OC: i32, n: i32,
  rows: i32, rq: usize, OCp: i32, g: i32, approx: bool, fast: bool, left: bool, roundZp: v128,
  outZp: v128, actMin: v128, actMax: v128, actMin8: v128, actMax8: v128,
): void {
  if (approx) {
    const ap = approxColumns(rq, OCp, g);
    const sa = v128.load(ap), sb = v128.load(ap, 16), ha = v128.load(ap, 32), hb = v128.load(ap, 48);
    const magicZp = v128.load(CONV_K);
    const ya0 = approxY(a0, sa, ha, magicZp), yb0 = approxY(b0, sb, hb, magicZp);
    const ya1 = approxY(a1, sa, ha, magicZp), yb1 = approxY(b1, sb, hb, magicZp);
    const ya2 = approxY(a2, sa, ha, magicZp), yb2 = approxY(b2, sb, hb, magicZp);
    const ya3 = approxY(a3, sa, ha, magicZp), yb3 = approxY(b3, sb, hb, magicZp);
    const f01 = i32x4.min_u(i32x4.min_u(approxFrac(ya0), approxFrac(yb0)), i32x4.min_u(approxFrac(ya1), approxFrac(yb1)));
    const f23 = i32x4.min_u(i32x4.min_u(approxFrac(ya2), approxFrac(yb2)), i32x4.min_u(approxFrac(ya3), approxFrac(yb3)));
    if (i32x4.all_true(i32x4.min_u(f01, f23))) {
      // Rows 0 and 1 in one vector, 2 and 3 in another; the i8 narrowing saturates, which
      // keeps the order, so clamping after it is the same.
      const v01 = i8x16.min_s(i8x16.max_s(i8x16.narrow_i16x8_s(
        i16x8.narrow_i32x4_s(approxValue(ya0), approxValue(yb0)),
        i16x8.narrow_i32x4_s(approxValue(ya1), approxValue(yb1))), actMin8), actMax8);
      const v23 = i8x16.min_s(i8x16.max_s(i8x16.narrow_i16x8_s(
        i16x8.narrow_i32x4_s(approxValue(ya2), approxValue(yb2)),
        i16x8.narrow_i32x4_s(approxValue(ya3), approxValue(yb3))), actMin8), actMax8);
      storeBytes(dst, v01, n);
      if (rows > 1) storeBytesHigh(dst + <usize>OC, v01, n);
      if (rows > 2) storeBytes(dst + <usize>(2 * OC), v23, n);
      if (rows > 3) storeBytesHigh(dst + <usize>(3 * OC), v23, n);
      return;
    }
  }
  if (fast) {
    // The channel constants once for the four pixels.
    const m0 = rqConst(rq, OCp, g, 0), h0 = rqConst(rq, OCp, g, 1), l0 = rqConst(rq, OCp, g, 2), s0 = rqConst(rq, OCp, g, 3);
    const m1 = rqConst(rq, OCp, g + 4, 0), h1 = rqConst(rq, OCp, g + 4, 1);
    const l1 = rqConst(rq, OCp, g + 4, 2), s1 = rqConst(rq, OCp, g + 4, 3);
    storeBytes(dst, narrowClamp8(requantize4Fast(a0, m0, h0, l0, s0, roundZp),
      requantize4Fast(b0, m1, h1, l1, s1, roundZp), actMin, actMax), n);
    if (rows > 1) {
      dst += <usize>OC;
      storeBytes(dst, narrowClamp8(requantize4Fast(a1, m0, h0, l0, s0, roundZp),
        requantize4Fast(b1, m1, h1, l1, s1, roundZp), actMin, actMax), n);
    }
    if (rows > 2) {
      dst += <usize>OC;
      storeBytes(dst, narrowClamp8(requantize4Fast(a2, m0, h0, l0, s0, roundZp),
        requantize4Fast(b2, m1, h1, l1, s1, roundZp), actMin, actMax), n);
    }
    if (rows > 3) {
      dst += <usize>OC;
      storeBytes(dst, narrowClamp8(requantize4Fast(a3, m0, h0, l0, s0, roundZp),
        requantize4Fast(b3, m1, h1, l1, s1, roundZp), actMin, actMax), n);
    }
    return;
  }
  storeBytes(dst, narrowClamp8(
    requantize4(a0, rq, OCp, g, fast, left, roundZp, outZp),
    requantize4(b0, rq, OCp, g + 4, fast, left, roundZp, outZp), actMin, actMax), n);
  if (rows > 1) {
    dst += <usize>OC;
    storeBytes(dst, narrowClamp8(
      requantize4(a1, rq, OCp, g, fast, left, roundZp, outZp),
      requantize4(b1, rq, OCp, g + 4, fast, left, roundZp, outZp), actMin, actMax), n);
  }
  if (rows > 2) {
    dst += <usize>OC;
    storeBytes(dst, narrowClamp8(
      requantize4(a2, rq, OCp, g, fast, left, roundZp, outZp),
      requantize4(b2, rq, OCp, g + 4, fast, left, roundZp, outZp), actMin, actMax), n);
  }
  if (rows > 3) {
    dst += <usize>OC;
    storeBytes(dst, narrowClamp8(
      requantize4(a3, rq, OCp, g, fast, left, roundZp, outZp),
      requantize4(b3, rq, OCp, g + 4, fast, left, roundZp, outZp), actMin, actMax), n);
  }
}
