// DEPTHWISE_CONV_2D, int8 NHWC activations x int8 per-channel weights (zero point 0), int32 bias.
// Output channel oc = ic * mult + m reads input channel ic. Bit-exact with TFLite Micro:
//   acc = bias[oc] + sum over taps inside the input of (x[ic] - inZp) * w[ky][kx][oc]
//   out = clamp(MultiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]) + outZp, actMin, actMax)
//
// Parameter words (written by host/runtime/ops/depthwise_conv2d.ts):
//   0 input   int8 [N, H, W, IC]
//   1 weights int8 [KH, KW, OC] (the model's [1, KH, KW, OC] tensor as is)
//   2 bias    int32 [OC] (zeros when the model has none)
//   3 rq      requantization table for roundup(OC, 8) channels (assembly/kernels/requantize.ts)
//   4 output  int8 [N, OH, OW, OC]
//   5 N   6 H   7 W   8 IC   9 OH   10 OW   11 OC   12 depthMultiplier   13 KH   14 KW
//   15 strideH  16 strideW  17 dilationH  18 dilationW  19 padTop  20 padLeft
//   21 inZp  22 outZp  23 actMin  24 actMax
//   25 pairs   the weights re-packed for the SIMD path, as int16: for each block of 8 channels
//              (the full blocks only), for each pair of taps (t, t+1) in ky-major order (the last
//              pair of an odd count has zero weights for its second tap), 16 values (32 bytes)
//              [w(t, c0), w(t+1, c0), w(t, c1), w(t+1, c1), ..., w(t+1, c7)]
//   26 biasFolded int32 [OC]: bias - inZp * (sum of the channel's weights), for output pixels
//              whose taps all lie inside the input
import { param } from "../fixedpoint";
import {
  requantizeOne, requantize8, requantize4, narrowClamp8, storeBytes, rqFast, rqLeft, rqRoundZp, rqApprox,
  approxMagicZp, approx8, approxK, approxTrustedAll, RQ_HEADER,
} from "./requantize";

export function depthwiseConv2d(p: usize): void {
  if (ASC_FEATURE_SIMD) {
    const IC = param(p, 8);
    const mult = param(p, 12);
    if (mult == 1 && depthwise3x3Simd(p)) return;
    if (mult == 1 || IC == 1) { depthwiseSimd(p); return; }
  }
  depthwiseScalar(p);
}

// ---------------------------------------------------------------------------------------------
// Interior pixels: every tap inside the input, so no bounds checks and the zero point folded
// into the bias. Both paths use this.

/** Input offsets of the taps (bytes, relative to the first tap), for interior pixels. */
const MAX_TAPS = 256;
const TAP_OFFSETS = memory.data(4 * (MAX_TAPS + 2), 16);
/** Interior output ranges [gOyA, gOyB) x [gOxA, gOxB) of the current call (empty if none). */
let gOyA = 0, gOyB = 0, gOxA = 0, gOxB = 0;

function setupInterior(
  H: i32, W: i32, IC: i32, OH: i32, OW: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32,
  padT: i32, padL: i32,
): void {
  const T = KH * KW;
  let oyA = (padT + SH - 1) / SH;
  let oyB = (H - 1 + padT - (KH - 1) * DH) >= 0 ? (H - 1 + padT - (KH - 1) * DH) / SH + 1 : 0;
  let oxA = (padL + SW - 1) / SW;
  let oxB = (W - 1 + padL - (KW - 1) * DW) >= 0 ? (W - 1 + padL - (KW - 1) * DW) / SW + 1 : 0;
  if (oyB > OH) oyB = OH;
  if (oxB > OW) oxB = OW;
  if (T > MAX_TAPS || oyA >= oyB || oxA >= oxB) { oyA = 0; oyB = 0; oxA = 0; oxB = 0; }
  gOyA = oyA; gOyB = oyB; gOxA = oxA; gOxB = oxB;
  if (T > MAX_TAPS) return;
  for (let t = 0; t < T; t++) {
    const ky = t / KW, kx = t - (t / KW) * KW;
    store<i32>(TAP_OFFSETS + (<usize>t << 2), (ky * DH * W + kx * DW) * IC);
  }
  // An odd tap count pairs the last tap with itself (its partner weights are 0).
  store<i32>(TAP_OFFSETS + (<usize>T << 2), T > 0 ? load<i32>(TAP_OFFSETS + (<usize>(T - 1) << 2)) : 0);
}

// @ts-ignore: decorator
@inline
function tapOffset(t: i32): usize {
  return <usize>load<i32>(TAP_OFFSETS + (<usize>t << 2));
}

// ---------------------------------------------------------------------------------------------
// Scalar path: TFLite Micro's loop order at the borders; interior pixels walk the tap offsets.
function depthwiseScalar(p: usize): void {
  const input = <usize>param(p, 0);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const N = param(p, 5), H = param(p, 6), W = param(p, 7), IC = param(p, 8);
  const OH = param(p, 9), OW = param(p, 10), OC = param(p, 11), mult = param(p, 12);
  const KH = param(p, 13), KW = param(p, 14);
  const SH = param(p, 15), SW = param(p, 16), DH = param(p, 17), DW = param(p, 18);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZp = param(p, 22), actMin = param(p, 23), actMax = param(p, 24);
  const biasFolded = <usize>param(p, 26);
  const OCp = (OC + 7) & ~7;
  const T = KH * KW;
  setupInterior(H, W, IC, OH, OW, KH, KW, SH, SW, DH, DW, padT, padL);
  const oyA = gOyA, oyB = gOyB, oxA = gOxA, oxB = gOxB;
  const wStride = <usize>OC;
  const o0 = tapOffset(0), o1 = tapOffset(1), o2 = tapOffset(2), o3 = tapOffset(3), o4 = tapOffset(4);
  const o5 = tapOffset(5), o6 = tapOffset(6), o7 = tapOffset(7), o8 = tapOffset(8);
  let out = output;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - padT;
      const rowInterior = oy >= oyA && oy < oyB;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * SW - padL;
        if (rowInterior && ox >= oxA && ox < oxB) {
          const xp = input + <usize>(((b * H + iy0) * W + ix0) * IC);
          for (let oc = 0; oc < OC; oc++) {
            const xc = xp + <usize>(mult == 1 ? oc : oc / mult);
            let acc = load<i32>(biasFolded + (<usize>oc << 2));
            let w = weights + <usize>oc;
            if (T == 9) {
              // 3x3: the tap offsets live in locals.
              acc += <i32>load<i8>(xc + o0) * <i32>load<i8>(w)
                + <i32>load<i8>(xc + o1) * <i32>load<i8>(w + wStride)
                + <i32>load<i8>(xc + o2) * <i32>load<i8>(w + 2 * wStride)
                + <i32>load<i8>(xc + o3) * <i32>load<i8>(w + 3 * wStride)
                + <i32>load<i8>(xc + o4) * <i32>load<i8>(w + 4 * wStride)
                + <i32>load<i8>(xc + o5) * <i32>load<i8>(w + 5 * wStride)
                + <i32>load<i8>(xc + o6) * <i32>load<i8>(w + 6 * wStride)
                + <i32>load<i8>(xc + o7) * <i32>load<i8>(w + 7 * wStride)
                + <i32>load<i8>(xc + o8) * <i32>load<i8>(w + 8 * wStride);
            } else {
              let off = TAP_OFFSETS;
              for (let t = 0; t < T; t++) {
                acc += <i32>load<i8>(xc + <usize>load<i32>(off)) * <i32>load<i8>(w);
                off += 4;
                w += wStride;
              }
            }
            store<i8>(out + <usize>oc, <i8>requantizeOne(acc, rq, OCp, oc, outZp, actMin, actMax));
          }
          out += <usize>OC;
          continue;
        }
        for (let ic = 0; ic < IC; ic++) {
          for (let m = 0; m < mult; m++) {
            const oc = ic * mult + m;
            let acc = load<i32>(bias + (<usize>oc << 2));
            for (let ky = 0; ky < KH; ky++) {
              const iy = iy0 + ky * DH;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ix0 + kx * DW;
                if (ix < 0 || ix >= W) continue;
                const x = <i32>load<i8>(input + <usize>(((b * H + iy) * W + ix) * IC + ic));
                const w = <i32>load<i8>(weights + <usize>((ky * KW + kx) * OC + oc));
                acc += (x - inZp) * w;
              }
            }
            store<i8>(out + <usize>oc, <i8>requantizeOne(acc, rq, OCp, oc, outZp, actMin, actMax));
          }
        }
        out += <usize>OC;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD path for depth multiplier 1 (channels side by side) and for a single input channel
// (its value broadcast to all output channels), 8 channels per step.
// Interior pixels (every tap inside the input) use the folded bias and i32x4.dot_i16x8_s on two
// taps at once: the inputs of taps t and t+1 interleaved per channel, against the pair-packed
// weights. Border pixels subtract the zero point and accumulate the valid taps one at a time.
// Channels past the last multiple of 8 use the scalar formula.


function depthwiseSimd(p: usize): void {
  const input = <usize>param(p, 0);
  const weights = <usize>param(p, 1);
  const bias = <usize>param(p, 2);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const N = param(p, 5), H = param(p, 6), W = param(p, 7), IC = param(p, 8);
  const OH = param(p, 9), OW = param(p, 10), OC = param(p, 11);
  const KH = param(p, 13), KW = param(p, 14);
  const SH = param(p, 15), SW = param(p, 16), DH = param(p, 17), DW = param(p, 18);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZpS = param(p, 22), actMinS = param(p, 23), actMaxS = param(p, 24);
  const pairs = <usize>param(p, 25);
  const biasFolded = <usize>param(p, 26);
  const OCp = (OC + 7) & ~7;
  const broadcast = IC == 1; // else depth multiplier 1: IC == OC
  const OC8 = OC & ~7;
  const T = KH * KW;
  const nPairs = (T + 1) >> 1;
  const blockBytes = <usize>nPairs << 5;
  const zv = i16x8.splat(<i16>inZp);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>actMinS), actMax = i16x8.splat(<i16>actMaxS);
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq), magicZp = approxMagicZp(outZpS);

  setupInterior(H, W, IC, OH, OW, KH, KW, SH, SW, DH, DW, padT, padL);
  const oyA = gOyA, oyB = gOyB, oxA = gOxA, oxB = gOxB;

  let out = output;
  for (let b = 0; b < N; b++) {
    const img = input + <usize>(b * H * W * IC);
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - padT;
      const rowInterior = oy >= oyA && oy < oyB;
      // The taps inside the image along y: ky in [ky0, ky1).
      let ky0 = 0, ky1 = KH;
      while (ky0 < KH && iy0 + ky0 * DH < 0) ky0++;
      while (ky1 > ky0 && iy0 + (ky1 - 1) * DH >= H) ky1--;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * SW - padL;
        if (rowInterior && ox >= oxA && ox < oxB) {
          const xp = img + <usize>((iy0 * W + ix0) * IC);
          if (broadcast) interiorBroadcast(xp, pairs, biasFolded, out, OC8, nPairs, blockBytes,
            rq, OCp, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
          else interiorChannels(xp, pairs, biasFolded, out, OC8, nPairs, blockBytes,
            rq, OCp, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
        } else {
          let kx0 = 0, kx1 = KW;
          while (kx0 < KW && ix0 + kx0 * DW < 0) kx0++;
          while (kx1 > kx0 && ix0 + (kx1 - 1) * DW >= W) kx1--;
          for (let c = 0; c < OC8; c += 8) {
            let acc0 = v128.load(bias + (<usize>c << 2));
            let acc1 = v128.load(bias + (<usize>c << 2), 16);
            for (let ky = ky0; ky < ky1; ky++) {
              const iy = iy0 + ky * DH;
              for (let kx = kx0; kx < kx1; kx++) {
                const ix = ix0 + kx * DW;
                const xp = img + <usize>((iy * W + ix) * IC);
                const xv = broadcast
                  ? i16x8.splat(<i16>(<i32>load<i8>(xp) - inZp))
                  : i16x8.sub(v128.load8x8_s(xp + <usize>c), zv);
                const wv = v128.load8x8_s(weights + <usize>((ky * KW + kx) * OC + c));
                acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xv, wv));
                acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xv, wv));
              }
            }
            storeBytes(out + <usize>c, requantize8(acc0, acc1, rq, OCp, c, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), 8);
          }
        }
        for (let c = OC8; c < OC; c++) {
          const ic = broadcast ? 0 : c;
          let acc = load<i32>(bias + (<usize>c << 2));
          for (let ky = ky0; ky < ky1; ky++) {
            const iy = iy0 + ky * DH;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ix0 + kx * DW;
              if (ix < 0 || ix >= W) continue;
              const x = <i32>load<i8>(img + <usize>((iy * W + ix) * IC + ic));
              acc += (x - inZp) * <i32>load<i8>(weights + <usize>((ky * KW + kx) * OC + c));
            }
          }
          store<i8>(out + <usize>c, <i8>requantizeOne(acc, rq, OCp, c, outZpS, actMinS, actMaxS));
        }
        out += <usize>OC;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD, 3x3 kernel, depth multiplier 1, channels a multiple of 8: every output pixel, the
// borders included, goes through sweep3x3. With the zero point folded into the bias
// (biasFolded = bias - inZp * sum(w)), a tap outside the input must contribute inZp * w, i.e.
// read a value equal to inZp: such taps point into ZP_ROW, a static run of inZp bytes filled
// per call, so no pixel needs bounds checks. (int32 wrapping makes the fold exact.)

/** Bytes of ZP_ROW; a run of n pixels reads at most (n - 1) * SW * IC + 2 * DW * IC + OC. */
const ZP_BYTES = 2048;
const ZP_ROW: usize = memory.data(ZP_BYTES, 16);
/**
 * Accumulators are stored here (never read) between tap pairs: V8 keeps loads in program order
 * but sinks arithmetic to its first use, so without these stores all 19 loads of a pixel come
 * first and their values spill; a store pins the arithmetic before the next loads.
 */
const PIN: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline
function pin(a0: v128, a1: v128): void {
  v128.store(PIN, a0);
  v128.store(PIN, a1, 16);
}

/** Absolute input addresses (channel 0) of the 9 taps of a sweep's first pixel, ky-major. */
const SWEEP_TAPS: usize = memory.data(4 * 9, 16);

// @ts-ignore: decorator
@inline
function sweepTap(t: i32): usize {
  return <usize>load<i32>(SWEEP_TAPS + (<usize>t << 2));
}

// @ts-ignore: decorator
@inline
function setSweepTap(t: i32, addr: usize): void {
  store<i32>(SWEEP_TAPS + (<usize>t << 2), <i32>addr);
}

/** Runs the 3x3 depth-multiplier-1 case (returns false, doing nothing, for other shapes). */
function depthwise3x3Simd(p: usize): bool {
  const OC = param(p, 11), KH = param(p, 13), KW = param(p, 14), DW = param(p, 18);
  if (KH != 3 || KW != 3 || (OC & 7) != 0 || OC == 0 || DW > ZP_BYTES || OC > ZP_BYTES) return false;
  const IC = OC;
  // ZP_ROW bytes read by one pixel.
  const reach = 2 * DW * IC + OC;
  if (reach > ZP_BYTES) return false;
  const input = <usize>param(p, 0);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const N = param(p, 5), H = param(p, 6), W = param(p, 7);
  const OH = param(p, 9), OW = param(p, 10);
  const SH = param(p, 15), SW = param(p, 16), DH = param(p, 17);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZpS = param(p, 22), actMinS = param(p, 23), actMaxS = param(p, 24);
  const pairs = <usize>param(p, 25);
  const biasFolded = <usize>param(p, 26);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>actMinS), actMax = i16x8.splat(<i16>actMaxS);
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq), magicZp = approxMagicZp(outZpS);

  const pixelBytes = <usize>IC;
  const rowBytes = <usize>(W * IC);
  const xStep = <usize>(SW * IC);
  const colStep = <usize>(DW * IC);
  // Output columns whose three taps along x all lie inside the input: [oxA, oxB).
  let oxA = (padL + SW - 1) / SW;
  const lastIx = W - 1 + padL - 2 * DW;
  let oxB = lastIx >= 0 ? lastIx / SW + 1 : 0;
  if (oxB > OW) oxB = OW;
  if (oxB <= oxA) { oxA = 0; oxB = 0; }
  // The longest run whose reads stay inside ZP_ROW (for rows with a tap row outside the input).
  const maxRun = (ZP_BYTES - reach) / (SW * IC) + 1;
  const wanted = <i64>(OW - 1) * <i64>(SW * IC) + <i64>reach;
  memory.fill(ZP_ROW, <u8>inZp, wanted < <i64>ZP_BYTES ? <usize>wanted : <usize>ZP_BYTES);

  let out = output;
  for (let b = 0; b < N; b++) {
    const img = input + <usize>(b * H) * rowBytes;
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - padT;
      const iy1 = iy0 + DH, iy2 = iy0 + 2 * DH;
      const in0 = iy0 >= 0 && iy0 < H, in1 = iy1 >= 0 && iy1 < H, in2 = iy2 >= 0 && iy2 < H;
      const row0 = img + <usize>iy0 * rowBytes, row1 = img + <usize>iy1 * rowBytes, row2 = img + <usize>iy2 * rowBytes;
      // Interior columns, in runs.
      let ox = oxA;
      while (ox < oxB) {
        let n = oxB - ox;
        if (!(in0 && in1 && in2) && n > maxRun) n = maxRun;
        const x0 = <usize>(ox * SW - padL) * pixelBytes;
        for (let kx = 0; kx < 3; kx++) {
          const dx = <usize>kx * colStep;
          setSweepTap(kx, in0 ? row0 + x0 + dx : ZP_ROW + dx);
          setSweepTap(3 + kx, in1 ? row1 + x0 + dx : ZP_ROW + dx);
          setSweepTap(6 + kx, in2 ? row2 + x0 + dx : ZP_ROW + dx);
        }
        sweep3x3(xStep, n, out + <usize>(ox * OC), <usize>OC, pairs, biasFolded, OC, rq,
          approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
        ox += n;
      }
      // Border columns, one pixel at a time.
      for (ox = 0; ox < OW; ox++) {
        if (ox == oxA && oxA < oxB) { ox = oxB - 1; continue; }
        const ixL = ox * SW - padL;
        for (let kx = 0; kx < 3; kx++) {
          const ix = ixL + kx * DW;
          const inX = ix >= 0 && ix < W;
          const x = <usize>ix * pixelBytes;
          setSweepTap(kx, in0 && inX ? row0 + x : ZP_ROW);
          setSweepTap(3 + kx, in1 && inX ? row1 + x : ZP_ROW);
          setSweepTap(6 + kx, in2 && inX ? row2 + x : ZP_ROW);
        }
        sweep3x3(0, 1, out + <usize>(ox * OC), <usize>OC, pairs, biasFolded, OC, rq,
          approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
      }
      out += <usize>(OW * OC);
    }
  }
  return true;
}

// `count` output pixels, input step xStep bytes, output step outStep, 3x3 kernel, depth
// multiplier 1, OC8 channels (a multiple of 8); the taps of the first pixel are in SWEEP_TAPS.
// Per 8-channel block the weights, bias and scales are read from memory at constant offsets
// of block pointers (few live values: V8 keeps the loop free of spills).
function sweep3x3(
  xStep: usize, count: i32, out: usize, outStep: usize, pairs: usize, biasFolded: usize, OC8: i32,
  rq: usize, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128, outZp: v128, actMin: v128, actMax: v128,
): void {
  const o0 = sweepTap(0), o1 = sweepTap(1), o2 = sweepTap(2), o3 = sweepTap(3), o4 = sweepTap(4);
  const o5 = sweepTap(5), o6 = sweepTap(6), o7 = sweepTap(7), o8 = sweepTap(8);
  const n = <usize>OC8;
  let wb = pairs;
  let bf = biasFolded;
  // Float32 scales of the block's channels; their half-steps follow 4n bytes later.
  let sc = rq + RQ_HEADER + (n << 5);
  for (let c = 0; c < OC8; c += 8) {
    let xc = <usize>c;
    let dst = out + <usize>c;
    const hc = sc + (n << 2);
    for (let i = 0; i < count; i++) {
      let a0 = v128.load(bf), a1 = v128.load(bf, 16);
      let x0 = v128.load8x8_s(xc + o0), x1 = v128.load8x8_s(xc + o1);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wb)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wb, 16)));
      x0 = v128.load8x8_s(xc + o2); x1 = v128.load8x8_s(xc + o3);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wb, 32)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wb, 48)));
      pin(a0, a1);
      x0 = v128.load8x8_s(xc + o4); x1 = v128.load8x8_s(xc + o5);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wb, 64)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wb, 80)));
      x0 = v128.load8x8_s(xc + o6); x1 = v128.load8x8_s(xc + o7);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wb, 96)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wb, 112)));
      pin(a0, a1);
      // The ninth tap pairs with itself; its partner weights are 0.
      x0 = v128.load8x8_s(xc + o8);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x0, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wb, 128)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x0, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wb, 144)));
      let v = i64x2.splat(0);
      let done = false;
      if (approx) {
        v = approx8(a0, a1, v128.load(sc), v128.load(sc, 16), v128.load(hc), v128.load(hc, 16), magicZp,
          approxK(0), approxK(1), approxK(2), approxK(3), actMin, actMax);
        done = approxTrustedAll(v);
      }
      if (!done) {
        v = narrowClamp8(requantize4(a0, rq, OC8, c, fast, left, roundZp, outZp),
          requantize4(a1, rq, OC8, c + 4, fast, left, roundZp, outZp), actMin, actMax);
      }
      v128.store64_lane(dst, v, 0);
      xc += xStep;
      dst += outStep;
    }
    wb += 160;
    bf += 32;
    sc += 32;
  }
}

// One interior pixel, depth multiplier 1: all full 8-channel blocks.
// @ts-ignore: decorator
@inline
function interiorChannels(
  xp: usize, pairs: usize, biasFolded: usize, out: usize, OC8: i32, nPairs: i32, blockBytes: usize,
  rq: usize, OCp: i32, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128, outZp: v128, actMin: v128, actMax: v128,
): void {
  let wb = pairs;
  for (let c = 0; c < OC8; c += 8) {
    let acc0 = v128.load(biasFolded + (<usize>c << 2));
    let acc1 = v128.load(biasFolded + (<usize>c << 2), 16);
    const xc = xp + <usize>c;
    let w = wb;
    let off = TAP_OFFSETS;
    for (let q = 0; q < nPairs; q++) {
      const x0 = v128.load8x8_s(xc + <usize>load<i32>(off));
      const x1 = v128.load8x8_s(xc + <usize>load<i32>(off, 4));
      const lo = v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11);
      const hi = v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
      acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo, v128.load(w)));
      acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi, v128.load(w, 16)));
      off += 8;
      w += 32;
    }
    storeBytes(out + <usize>c, requantize8(acc0, acc1, rq, OCp, c, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), 8);
    wb += blockBytes;
  }
}

// One interior pixel, a single input channel feeding every output channel.
// @ts-ignore: decorator
@inline
function interiorBroadcast(
  xp: usize, pairs: usize, biasFolded: usize, out: usize, OC8: i32, nPairs: i32, blockBytes: usize,
  rq: usize, OCp: i32, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128, outZp: v128, actMin: v128, actMax: v128,
): void {
  let wb = pairs;
  for (let c = 0; c < OC8; c += 8) {
    let acc0 = v128.load(biasFolded + (<usize>c << 2));
    let acc1 = v128.load(biasFolded + (<usize>c << 2), 16);
    let w = wb;
    let off = TAP_OFFSETS;
    for (let q = 0; q < nPairs; q++) {
      // [x(t), x(t+1)] as an i16 pair, repeated.
      const x0 = <i32>load<i8>(xp + <usize>load<i32>(off));
      const x1 = <i32>load<i8>(xp + <usize>load<i32>(off, 4));
      const xv = i32x4.splat((x1 << 16) | (x0 & 0xffff));
      acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(xv, v128.load(w)));
      acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(xv, v128.load(w, 16)));
      off += 8;
      w += 32;
    }
    storeBytes(out + <usize>c, requantize8(acc0, acc1, rq, OCp, c, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax), 8);
    wb += blockBytes;
  }
}
