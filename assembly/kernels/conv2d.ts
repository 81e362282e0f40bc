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
//   5 scratch (two i16 rows of K4 values plus 16 bytes slack each: 4*K4 + 32 bytes, 16-aligned)
//   6 N   7 H   8 W   9 IC   10 OH   11 OW   12 OC   13 KH   14 KW
//   15 strideH  16 strideW  17 dilationH  18 dilationW  19 padTop  20 padLeft
//   21 inZp  22 outZp  23 actMin  24 actMax
//
// The convolution runs as a GEMM: each output pixel's receptive field is gathered into a row of
// K = KH*KW*IC values ("im2col", k = (ky*KW + kx)*IC + ic, the OHWI order), stored as i16
// (x - inZp), 0 for padding and for the tail up to K4 = roundup(K, 4).
// Weights are packed by the host in groups of 8 output channels (OCp = roundup(OC, 8)), each
// group as K4/4 blocks of 32 bytes: [channel 0..7][4 consecutive k] (zero-filled padding).
// That layout serves i32x4.dot_i16x8_s (one 8-byte load = 2 channels x 4 k) and reads
// sequentially in the scalar loop too.
import { param } from "../fixedpoint";
import {
  requantizeOne, requantize4, narrowClamp8, storeBytes, rqFast, rqLeft, rqShiftE, rqRoundZp,
} from "./requantize";

export function conv2d(p: usize): void {
  if (ASC_FEATURE_SIMD) conv2dSimd(p);
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
let gK4: i32 = 0;

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
  gK4 = (gK + 3) & ~3;
}

/**
 * Gather output pixel (b, oy, ox)'s receptive field into `row` as K4 i16 values (x - inZp, 0 for
 * padding and the tail). The row needs 16 bytes of slack after K4 values: SIMD widening may
 * write a partial chunk past a segment (later segments and the tail overwrite it).
 */
function gatherRow(row: usize, b: i32, oy: i32, ox: i32): void {
  const IC = gIC;
  const iy0 = oy * gSH - gPadT;
  const ix0 = ox * gSW - gPadL;
  const segBytes = <usize>IC << 1;
  // With dilation 1 along x and all taps of a kernel row inside, the row is contiguous.
  const xInside = ix0 >= 0 && ix0 + (gKW - 1) * gDW < gW;
  const contiguous = xInside && gDW == 1;
  let dst = row;
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
  for (let k = gK; k < gK4; k++) store<i16>(row + (<usize>k << 1), 0);
}

/** n i16 values (x - zp) from n int8 at src. */
// @ts-ignore: decorator
@inline
function widen(dst: usize, src: usize, n: i32, zp: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zv = i16x8.splat(<i16>zp);
    for (; i + 8 <= n; i += 8) {
      v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(src + <usize>i), zv));
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
    // Whole chunks (the row has slack for the overrun).
    for (let i = 0; i < n; i += 8) v128.store(dst + (<usize>i << 1), i32x4.splat(0));
  } else {
    for (let i = 0; i < n; i++) store<i16>(dst + (<usize>i << 1), 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar path: one gathered row, then a plain dot product per output channel.
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
  const KQ = gK4 >> 2;
  let out = output;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        gatherRow(row, b, oy, ox);
        for (let oc = 0; oc < OC; oc++) {
          let acc = load<i32>(bias + (<usize>oc << 2));
          let w = weights + <usize>((oc >> 3) * KQ * 32 + ((oc & 7) << 2));
          let x = row;
          for (let q = 0; q < KQ; q++) {
            acc += <i32>load<i16>(x) * <i32>load<i8>(w)
              + <i32>load<i16>(x, 2) * <i32>load<i8>(w, 1)
              + <i32>load<i16>(x, 4) * <i32>load<i8>(w, 2)
              + <i32>load<i16>(x, 6) * <i32>load<i8>(w, 3);
            x += 8;
            w += 32;
          }
          store<i8>(out + <usize>oc, <i8>requantizeOne(acc, rq, OCp, oc, outZp, actMin, actMax));
        }
        out += <usize>OC;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD path: two output pixels x 8 output channels per register tile.
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
  const KQ = gK4 >> 2;
  const outZpS = param(p, 22);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>param(p, 23));
  const actMax = i16x8.splat(<i16>param(p, 24));
  const fast = rqFast(rq), left = rqLeft(rq), shiftE = rqShiftE(rq), roundZp = rqRoundZp(rq, outZpS);
  const row0 = scratch;
  const row1 = scratch + (<usize>gK4 << 1) + 16;
  const M = N * OH * OW;
  // The next pixel to gather.
  let b = 0, oy = 0, ox = 0;
  for (let m = 0; m < M; m += 2) {
    const has1 = m + 1 < M;
    gatherRow(row0, b, oy, ox);
    if (++ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
    if (has1) {
      gatherRow(row1, b, oy, ox);
      if (++ox == OW) { ox = 0; if (++oy == OH) { oy = 0; b++; } }
    }
    // Without a second pixel, row1 holds stale values: its results are computed, not stored.
    const out0 = output + <usize>m * <usize>OC;
    const out1 = out0 + <usize>OC;
    let wp = weights;
    for (let g = 0; g < OCp; g += 8) {
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
      let x0p = row0, x1p = row1;
      for (let q = 0; q < KQ; q++) {
        const x0 = v128.load64_splat(x0p);
        const x1 = v128.load64_splat(x1p);
        const w0 = v128.load8x8_s(wp);
        const w1 = v128.load8x8_s(wp, 8);
        const w2 = v128.load8x8_s(wp, 16);
        const w3 = v128.load8x8_s(wp, 24);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, w0));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x0, w1));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x0, w2));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x0, w3));
        b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x1, w0));
        b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, w1));
        b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x1, w2));
        b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x1, w3));
        x0p += 8;
        x1p += 8;
        wp += 32;
      }
      const biasLo = v128.load(bias + (<usize>g << 2));
      const biasHi = v128.load(bias + (<usize>g << 2), 16);
      const n = OC - g < 8 ? OC - g : 8;
      // Each accumulator holds two channels as [c, c, c+1, c+1] halves: add the pairs.
      const p0lo = i32x4.add(i32x4.add(v128.shuffle<i32>(a0, a1, 0, 2, 4, 6), v128.shuffle<i32>(a0, a1, 1, 3, 5, 7)), biasLo);
      const p0hi = i32x4.add(i32x4.add(v128.shuffle<i32>(a2, a3, 0, 2, 4, 6), v128.shuffle<i32>(a2, a3, 1, 3, 5, 7)), biasHi);
      storeBytes(out0 + <usize>g, narrowClamp8(
        requantize4(p0lo, rq, OCp, g, fast, left, shiftE, roundZp, outZp),
        requantize4(p0hi, rq, OCp, g + 4, fast, left, shiftE, roundZp, outZp), actMin, actMax), n);
      if (has1) {
        const p1lo = i32x4.add(i32x4.add(v128.shuffle<i32>(b0, b1, 0, 2, 4, 6), v128.shuffle<i32>(b0, b1, 1, 3, 5, 7)), biasLo);
        const p1hi = i32x4.add(i32x4.add(v128.shuffle<i32>(b2, b3, 0, 2, 4, 6), v128.shuffle<i32>(b2, b3, 1, 3, 5, 7)), biasHi);
        storeBytes(out1 + <usize>g, narrowClamp8(
          requantize4(p1lo, rq, OCp, g, fast, left, shiftE, roundZp, outZp),
          requantize4(p1hi, rq, OCp, g + 4, fast, left, shiftE, roundZp, outZp), actMin, actMax), n);
      }
    }
  }
}
