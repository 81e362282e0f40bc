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
//   27 blocks  3x3 kernel, depth multiplier 1, OC a multiple of 8 (else 0): per 8-channel block
//              256 bytes: the block's 80 int16 weights in vertical tap pairs (t0,t3) (t1,t4)
//              (t2,t5) (t6,t7) (t8,0), each laid out as in word 25, its biasFolded
//              (8 x i32), and the float32 scales and half-steps of the rq table (8 x f32 each)
//   28 rows    the same shapes (else 0): scratch of 4 * Wp * IC bytes, Wp = max(padLeft + W,
//              (OW - 1) * strideW + 2 * dilationW + 1) (see paddedWidth)
import { param } from "../fixedpoint";
import {
  requantizeOne, requantize8, requantize4, narrowClamp8, storeBytes, rqFast, rqLeft, rqRoundZp, rqApprox,
  approxMagicZp, approx8, approxTrustedAll, approxY, approxFrac, approxValue,
} from "./requantize";

export function depthwiseConv2d(p: usize): void {
  if (ASC_FEATURE_SIMD) {
    const IC = param(p, 8);
    const mult = param(p, 12);
    if (depthwise3x3Simd(p)) return;
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

/** Border pixels' taps inside the input: pairs (input byte offset, weight byte offset), i32. */
const BORDER_TAPS = memory.data(8 * MAX_TAPS, 16);

/** Fill BORDER_TAPS for the output pixel whose first tap is (b, iy0, ix0); returns the count. */
function borderTaps(
  b: i32, iy0: i32, ix0: i32, H: i32, W: i32, IC: i32, OC: i32, KH: i32, KW: i32, DH: i32, DW: i32,
): i32 {
  let n = 0;
  for (let ky = 0; ky < KH; ky++) {
    const iy = iy0 + ky * DH;
    if (iy < 0 || iy >= H) continue;
    for (let kx = 0; kx < KW; kx++) {
      const ix = ix0 + kx * DW;
      if (ix < 0 || ix >= W) continue;
      const t = BORDER_TAPS + (<usize>n << 3);
      store<i32>(t, ((b * H + iy) * W + ix) * IC);
      store<i32>(t, (ky * KW + kx) * OC, 4);
      n++;
    }
  }
  return n;
}

/** The four sums of interior4. */
const ACC4 = memory.data(16, 16);

/**
 * Interior pixel, depth multiplier 1: the folded-bias sums of four adjacent channels (xc, wc:
 * the pixel's first tap and the weights at the first channel), left in ACC4. One tap per step
 * from the TAP_OFFSETS list, so four sums, three pointers and the weight stride are all that
 * stays live (the 3x3 form with nine offsets in locals spilled on x64). Each sum is also stored
 * after its update: the stores keep the engine from hoisting the next tap's loads above the
 * arithmetic (VWW's scalar depthwise layers -5%, measured).
 */
// @ts-ignore: decorator
@noinline
function interior4(xc: usize, wc: usize, biasF: usize, T: i32, wStride: usize): void {
  let a0 = load<i32>(biasF), a1 = load<i32>(biasF, 4), a2 = load<i32>(biasF, 8), a3 = load<i32>(biasF, 12);
  let w = wc;
  const tEnd = TAP_OFFSETS + (<usize>T << 2);
  for (let t = TAP_OFFSETS; t < tEnd; t += 4) {
    const x = xc + <usize>load<i32>(t);
    a0 += <i32>load<i8>(x) * <i32>load<i8>(w); store<i32>(ACC4, a0);
    a1 += <i32>load<i8>(x, 1) * <i32>load<i8>(w, 1); store<i32>(ACC4, a1, 4);
    a2 += <i32>load<i8>(x, 2) * <i32>load<i8>(w, 2); store<i32>(ACC4, a2, 8);
    a3 += <i32>load<i8>(x, 3) * <i32>load<i8>(w, 3); store<i32>(ACC4, a3, 12);
    w += wStride;
  }
  store<i32>(ACC4, a0);
  store<i32>(ACC4, a1, 4);
  store<i32>(ACC4, a2, 8);
  store<i32>(ACC4, a3, 12);
}

// ---------------------------------------------------------------------------------------------
// Scalar path: border pixels walk a list of their valid taps; interior pixels walk the tap offsets.
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
          // Depth multiplier 1: four channels per pass (their inputs and weights are adjacent bytes).
          const oc4 = mult == 1 ? OC & ~3 : 0;
          for (let oc = 0; oc < oc4; oc += 4) {
            interior4(xp + <usize>oc, weights + <usize>oc, biasFolded + (<usize>oc << 2), T, wStride);
            const o = out + <usize>oc;
            store<i8>(o, <i8>requantizeOne(load<i32>(ACC4), rq, OCp, oc, outZp, actMin, actMax));
            store<i8>(o, <i8>requantizeOne(load<i32>(ACC4, 4), rq, OCp, oc + 1, outZp, actMin, actMax), 1);
            store<i8>(o, <i8>requantizeOne(load<i32>(ACC4, 8), rq, OCp, oc + 2, outZp, actMin, actMax), 2);
            store<i8>(o, <i8>requantizeOne(load<i32>(ACC4, 12), rq, OCp, oc + 3, outZp, actMin, actMax), 3);
          }
          for (let oc = oc4; oc < OC; oc++) {
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
        if (T <= MAX_TAPS) {
          // Border pixel: list the taps inside the input once, then every channel walks the list.
          const nt = borderTaps(b, iy0, ix0, H, W, IC, OC, KH, KW, DH, DW);
          const tEnd = BORDER_TAPS + (<usize>nt << 3);
          for (let oc = 0; oc < OC; oc++) {
            const xc = input + <usize>(mult == 1 ? oc : oc / mult);
            const wc = weights + <usize>oc;
            let acc = load<i32>(bias + (<usize>oc << 2));
            for (let t = BORDER_TAPS; t < tEnd; t += 8) {
              acc += (<i32>load<i8>(xc + <usize>load<i32>(t)) - inZp) * <i32>load<i8>(wc + <usize>load<i32>(t, 4));
            }
            store<i8>(out + <usize>oc, <i8>requantizeOne(acc, rq, OCp, oc, outZp, actMin, actMax));
          }
          out += <usize>OC;
          continue;
        }
        // The plain form (TFLite Micro's loop order), for kernels with more than MAX_TAPS taps.
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
// SIMD, 3x3 kernel, depth multiplier 1, channels a multiple of 8 (the MobileNet shape): every
// output row is one sweep, the borders included. The three input rows a output row reads are
// kept in a scratch ring of rows padded with inZp columns (each input row copied once, for
// stride 1), and rows above or below the input read a row of inZp bytes: with the zero point
// folded into the bias (biasFolded = bias - inZp * sum(w), exact in wrapping int32), a tap that
// reads inZp contributes what TFLite's skipped tap does, so no pixel needs bounds checks.

/** Padded row width in pixels: the input columns, padL before, and what the last pixel reads. */
// @ts-ignore: decorator
@inline
function paddedWidth(W: i32, OW: i32, SW: i32, DW: i32, padL: i32): i32 {
  const need = (OW - 1) * SW + 2 * DW + 1;
  return need > padL + W ? need : padL + W;
}

/**
 * Accumulators are stored here (never read) between tap pairs: V8 keeps loads in program order
 * but sinks arithmetic to its first use, so without these stores all the loads of a pixel come
 * first and their values spill; a store pins the arithmetic before the next loads.
 */
const PIN: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline
function pin(a0: v128, a1: v128): void {
  v128.store(PIN, a0);
  v128.store(PIN, a1, 16);
}

// @ts-ignore: decorator
@inline
function pin4(a0: v128, a1: v128, b0: v128, b1: v128): void {
  v128.store(PIN, a0);
  v128.store(PIN, a1, 16);
  v128.store(PIN, b0, 32);
  v128.store(PIN, b1, 48);
}

/** Runs the 3x3 depth-multiplier-1 case when the host prepared it (word 28 set). */
function depthwise3x3Simd(p: usize): bool {
  const rows = <usize>param(p, 28);
  if (rows == 0) return false;
  const input = <usize>param(p, 0);
  const rq = <usize>param(p, 3);
  const output = <usize>param(p, 4);
  const N = param(p, 5), H = param(p, 6), W = param(p, 7), IC = param(p, 8);
  const OH = param(p, 9), OW = param(p, 10);
  const SH = param(p, 15), SW = param(p, 16), DH = param(p, 17), DW = param(p, 18);
  const padT = param(p, 19), padL = param(p, 20);
  const inZp = param(p, 21), outZpS = param(p, 22), actMinS = param(p, 23), actMaxS = param(p, 24);
  const blocks = <usize>param(p, 27);
  const outZp = i32x4.splat(outZpS);
  const actMin = i16x8.splat(<i16>actMinS), actMax = i16x8.splat(<i16>actMaxS);
  const fast = rqFast(rq), left = rqLeft(rq), roundZp = rqRoundZp(rq, outZpS);
  const approx = rqApprox(rq), magicZp = approxMagicZp(outZpS);

  const rowBytes = <usize>(W * IC);
  const slotBytes = <usize>(paddedWidth(W, OW, SW, DW, padL) * IC);
  const lead = <usize>(padL * IC);
  // Slots 0..2 hold input rows (columns [0, padL) and past padL + W are inZp); slot 3 is all inZp.
  const zpRow = rows + 3 * slotBytes;
  memory.fill(rows, <u8>inZp, 4 * slotBytes);
  let tag0 = -1, tag1 = -1, tag2 = -1;

  let out = output;
  for (let b = 0; b < N; b++) {
    const img = input + <usize>(b * H) * rowBytes;
    for (let oy = 0; oy < OH; oy++) {
      // Row ky reads input row iy0 + ky * DH, kept in slot (iy / DH) % 3: distinct for the three.
      const iy0 = oy * SH - padT;
      let r0 = zpRow, r1 = zpRow, r2 = zpRow;
      for (let ky = 0; ky < 3; ky++) {
        const iy = iy0 + ky * DH;
        if (iy < 0 || iy >= H) continue;
        const slot = (iy / DH) % 3;
        const tag = b * H + iy;
        const at = rows + <usize>slot * slotBytes;
        const held = slot == 0 ? tag0 : slot == 1 ? tag1 : tag2;
        if (held != tag) {
          memory.copy(at + lead, img + <usize>iy * rowBytes, rowBytes);
          if (slot == 0) tag0 = tag; else if (slot == 1) tag1 = tag; else tag2 = tag;
        }
        if (ky == 0) r0 = at; else if (ky == 1) r1 = at; else r2 = at;
      }
      sweepRow3x3(r0, r1, r2, <usize>(DW * IC), <usize>(SW * IC), OW, out, <usize>IC, blocks, IC, rq,
        approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
      out += <usize>(OW * IC);
    }
  }
  return true;
}

// One output row of `count` pixels: kernel row ky reads the padded row rK (first pixel at rK,
// taps at rK, rK + cs, rK + 2 cs, the next pixel xStep bytes on), output step outStep.
// Per 8-channel block the 256 bytes at `blocks` hold the int16 pair weights (160), the folded
// bias (32), the float32 scales (32) and half-steps (32), all read at constant offsets of one
// pointer: few live values, so V8 keeps the loop free of spills. The tap pairs are vertical
// (t0,t3) (t1,t4) (t2,t5) for each column of the first two kernel rows, then (t6,t7), (t8,-):
// neighbouring pixels share column pairs (two of three with stride 1, one with stride 2), so
// the sweep takes pixels two at a time there (sweepPair3x3, sweepPair3x3s2).
function sweepRow3x3(
  r0: usize, r1: usize, r2: usize, cs: usize, xStep: usize, count: i32, out: usize, outStep: usize,
  blocks: usize, OC8: i32, rq: usize, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128,
  outZp: v128, actMin: v128, actMax: v128,
): void {
  const cs2 = cs << 1;
  const pairs = xStep == cs || xStep == cs << 1 ? count >> 1 : 0;
  let blk = blocks;
  for (let c = 0; c < OC8; c += 8) {
    let q0 = r0 + <usize>c, q1 = r1 + <usize>c, q2 = r2 + <usize>c;
    let dst = out + <usize>c;
    if (pairs > 0) {
      if (xStep == cs) sweepPair3x3(q0, q1, q2, cs, pairs, dst, outStep, blk, c, OC8, rq, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
      else sweepPair3x3s2(q0, q1, q2, cs, pairs, dst, outStep, blk, c, OC8, rq, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
      const skip = <usize>(pairs << 1);
      q0 += skip * xStep; q1 += skip * xStep; q2 += skip * xStep;
      dst += skip * outStep;
    }
    for (let i = pairs << 1; i < count; i++) {
      let a0 = v128.load(blk, 160), a1 = v128.load(blk, 176);
      let x0 = v128.load8x8_s(q0), x1 = v128.load8x8_s(q1);
      a0 = dotLo(a0, x0, x1, v128.load(blk));
      a1 = dotHi(a1, x0, x1, v128.load(blk, 16));
      x0 = v128.load8x8_s(q0 + cs); x1 = v128.load8x8_s(q1 + cs);
      a0 = dotLo(a0, x0, x1, v128.load(blk, 32));
      a1 = dotHi(a1, x0, x1, v128.load(blk, 48));
      pin(a0, a1);
      x0 = v128.load8x8_s(q0 + cs2); x1 = v128.load8x8_s(q1 + cs2);
      a0 = dotLo(a0, x0, x1, v128.load(blk, 64));
      a1 = dotHi(a1, x0, x1, v128.load(blk, 80));
      x0 = v128.load8x8_s(q2); x1 = v128.load8x8_s(q2 + cs);
      a0 = dotLo(a0, x0, x1, v128.load(blk, 96));
      a1 = dotHi(a1, x0, x1, v128.load(blk, 112));
      pin(a0, a1);
      // The ninth tap pairs with itself; its partner weights are 0.
      x0 = v128.load8x8_s(q2 + cs2);
      a0 = dotLo(a0, x0, x0, v128.load(blk, 128));
      a1 = dotHi(a1, x0, x0, v128.load(blk, 144));
      let v = i64x2.splat(0);
      let done = false;
      if (approx) {
        v = approx8(a0, a1, v128.load(blk, 192), v128.load(blk, 208), v128.load(blk, 224), v128.load(blk, 240), magicZp,
          actMin, actMax);
        done = approxTrustedAll(v);
      }
      if (!done) {
        v = narrowClamp8(requantize4(a0, rq, OC8, c, fast, left, roundZp, outZp),
          requantize4(a1, rq, OC8, c + 4, fast, left, roundZp, outZp), actMin, actMax);
      }
      v128.store64_lane(dst, v, 0);
      q0 += xStep; q1 += xStep; q2 += xStep;
      dst += outStep;
    }
    blk += 256;
  }
}

/** dot(pair (x, y) low or high half, weights at w) added to acc. */
// @ts-ignore: decorator
@inline
function dotLo(acc: v128, x: v128, y: v128, w: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(v128.shuffle<i16>(x, y, 0, 8, 1, 9, 2, 10, 3, 11), w));
}
// @ts-ignore: decorator
@inline
function dotHi(acc: v128, x: v128, y: v128, w: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(v128.shuffle<i16>(x, y, 4, 12, 5, 13, 6, 14, 7, 15), w));
}

// Stride 1: `pairs` pairs of neighbouring pixels (A at q, B at q + cs) of one 8-channel block.
// The vertical pairs of columns 1 and 2 serve both pixels; the two are requantized together.
function sweepPair3x3(
  q0: usize, q1: usize, q2: usize, cs: usize, pairs: i32, dst: usize, outStep: usize, blk: usize, c: i32,
  OC8: i32, rq: usize, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128,
  outZp: v128, actMin: v128, actMax: v128,
): void {
  const cs2 = cs << 1, cs3 = cs2 + cs, step = cs2;
  for (let i = 0; i < pairs; i++) {
    let a0 = v128.load(blk, 160), a1 = v128.load(blk, 176);
    let b0 = a0, b1 = a1;
    // Column 0: A's first pair.
    let x0 = v128.load8x8_s(q0), x1 = v128.load8x8_s(q1);
    a0 = dotLo(a0, x0, x1, v128.load(blk)); a1 = dotHi(a1, x0, x1, v128.load(blk, 16));
    // Column 1: A's second pair, B's first.
    x0 = v128.load8x8_s(q0 + cs); x1 = v128.load8x8_s(q1 + cs);
    let lo = v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), hi = v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(lo, v128.load(blk, 32))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(hi, v128.load(blk, 48)));
    b0 = i32x4.add(b0, i32x4.dot_i16x8_s(lo, v128.load(blk))); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(hi, v128.load(blk, 16)));
    pin4(a0, a1, b0, b1);
    // Column 2: A's third pair, B's second.
    x0 = v128.load8x8_s(q0 + cs2); x1 = v128.load8x8_s(q1 + cs2);
    lo = v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11); hi = v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(lo, v128.load(blk, 64))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(hi, v128.load(blk, 80)));
    b0 = i32x4.add(b0, i32x4.dot_i16x8_s(lo, v128.load(blk, 32))); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(hi, v128.load(blk, 48)));
    // Column 3: B's third pair.
    x0 = v128.load8x8_s(q0 + cs3); x1 = v128.load8x8_s(q1 + cs3);
    b0 = dotLo(b0, x0, x1, v128.load(blk, 64)); b1 = dotHi(b1, x0, x1, v128.load(blk, 80));
    pin4(a0, a1, b0, b1);
    // The third kernel row: (t6, t7) and (t8, -) of each pixel.
    const y0 = v128.load8x8_s(q2), y1 = v128.load8x8_s(q2 + cs), y2 = v128.load8x8_s(q2 + cs2), y3 = v128.load8x8_s(q2 + cs3);
    a0 = dotLo(a0, y0, y1, v128.load(blk, 96)); a1 = dotHi(a1, y0, y1, v128.load(blk, 112));
    b0 = dotLo(b0, y1, y2, v128.load(blk, 96)); b1 = dotHi(b1, y1, y2, v128.load(blk, 112));
    a0 = dotLo(a0, y2, y2, v128.load(blk, 128)); a1 = dotHi(a1, y2, y2, v128.load(blk, 144));
    b0 = dotLo(b0, y3, y3, v128.load(blk, 128)); b1 = dotHi(b1, y3, y3, v128.load(blk, 144));
    pin4(a0, a1, b0, b1);
    requantizeStore2(a0, a1, b0, b1, dst, outStep, blk, c, OC8, rq, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
    q0 += step; q1 += step; q2 += step;
    dst += outStep << 1;
  }
}


// Two pixels' 8 channels (a: pixel A at dst, b: pixel B at dst + outStep) requantized and stored;
// the float32 path checks both at once (the exact path takes both when a lane is untrusted).
// @ts-ignore: decorator
@inline
function requantizeStore2(
  a0: v128, a1: v128, b0: v128, b1: v128, dst: usize, outStep: usize, blk: usize, c: i32, OC8: i32, rq: usize,
  approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128, outZp: v128, actMin: v128, actMax: v128,
): void {
  let trusted = false;
  if (approx) {
    const sa = v128.load(blk, 192), sb = v128.load(blk, 208), ha = v128.load(blk, 224), hb = v128.load(blk, 240);
    const ya0 = approxY(a0, sa, ha, magicZp), ya1 = approxY(a1, sb, hb, magicZp);
    const yb0 = approxY(b0, sa, ha, magicZp), yb1 = approxY(b1, sb, hb, magicZp);
    if (i32x4.all_true(i32x4.min_u(i32x4.min_u(approxFrac(ya0), approxFrac(ya1)), i32x4.min_u(approxFrac(yb0), approxFrac(yb1))))) {
      const h = i8x16.narrow_i16x8_s(
        i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(approxValue(ya0), approxValue(ya1)), actMin), actMax),
        i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(approxValue(yb0), approxValue(yb1)), actMin), actMax));
      v128.store64_lane(dst, h, 0);
      v128.store64_lane(dst + outStep, h, 1);
      trusted = true;
    }
  }
  if (!trusted) {
    v128.store64_lane(dst, narrowClamp8(requantize4(a0, rq, OC8, c, fast, left, roundZp, outZp),
      requantize4(a1, rq, OC8, c + 4, fast, left, roundZp, outZp), actMin, actMax), 0);
    v128.store64_lane(dst + outStep, narrowClamp8(requantize4(b0, rq, OC8, c, fast, left, roundZp, outZp),
      requantize4(b1, rq, OC8, c + 4, fast, left, roundZp, outZp), actMin, actMax), 0);
  }
}

// Stride 2: `pairs` pairs of pixels (A at q, B at q + 2 cs) of one 8-channel block; A's third
// column is B's first, so the pair reads five columns instead of six.
function sweepPair3x3s2(
  q0: usize, q1: usize, q2: usize, cs: usize, pairs: i32, dst: usize, outStep: usize, blk: usize, c: i32,
  OC8: i32, rq: usize, approx: bool, magicZp: v128, fast: bool, left: bool, roundZp: v128,
  outZp: v128, actMin: v128, actMax: v128,
): void {
  const cs2 = cs << 1, cs3 = cs2 + cs, cs4 = cs2 << 1;
  for (let i = 0; i < pairs; i++) {
    let a0 = v128.load(blk, 160), a1 = v128.load(blk, 176);
    let b0 = a0, b1 = a1;
    let x0 = v128.load8x8_s(q0), x1 = v128.load8x8_s(q1);
    a0 = dotLo(a0, x0, x1, v128.load(blk)); a1 = dotHi(a1, x0, x1, v128.load(blk, 16));
    x0 = v128.load8x8_s(q0 + cs); x1 = v128.load8x8_s(q1 + cs);
    a0 = dotLo(a0, x0, x1, v128.load(blk, 32)); a1 = dotHi(a1, x0, x1, v128.load(blk, 48));
    pin4(a0, a1, b0, b1);
    // Column 2: A's third pair, B's first.
    x0 = v128.load8x8_s(q0 + cs2); x1 = v128.load8x8_s(q1 + cs2);
    const lo = v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), hi = v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(lo, v128.load(blk, 64))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(hi, v128.load(blk, 80)));
    b0 = i32x4.add(b0, i32x4.dot_i16x8_s(lo, v128.load(blk))); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(hi, v128.load(blk, 16)));
    pin4(a0, a1, b0, b1);
    x0 = v128.load8x8_s(q0 + cs3); x1 = v128.load8x8_s(q1 + cs3);
    b0 = dotLo(b0, x0, x1, v128.load(blk, 32)); b1 = dotHi(b1, x0, x1, v128.load(blk, 48));
    x0 = v128.load8x8_s(q0 + cs4); x1 = v128.load8x8_s(q1 + cs4);
    b0 = dotLo(b0, x0, x1, v128.load(blk, 64)); b1 = dotHi(b1, x0, x1, v128.load(blk, 80));
    pin4(a0, a1, b0, b1);
    // The third kernel row.
    const y0 = v128.load8x8_s(q2), y1 = v128.load8x8_s(q2 + cs), y2 = v128.load8x8_s(q2 + cs2);
    a0 = dotLo(a0, y0, y1, v128.load(blk, 96)); a1 = dotHi(a1, y0, y1, v128.load(blk, 112));
    a0 = dotLo(a0, y2, y2, v128.load(blk, 128)); a1 = dotHi(a1, y2, y2, v128.load(blk, 144));
    const y3 = v128.load8x8_s(q2 + cs3), y4 = v128.load8x8_s(q2 + cs4);
    b0 = dotLo(b0, y2, y3, v128.load(blk, 96)); b1 = dotHi(b1, y2, y3, v128.load(blk, 112));
    b0 = dotLo(b0, y4, y4, v128.load(blk, 128)); b1 = dotHi(b1, y4, y4, v128.load(blk, 144));
    pin4(a0, a1, b0, b1);
    requantizeStore2(a0, a1, b0, b1, dst, outStep, blk, c, OC8, rq, approx, magicZp, fast, left, roundZp, outZp, actMin, actMax);
    q0 += cs4; q1 += cs4; q2 += cs4;
    dst += outStep << 1;
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
