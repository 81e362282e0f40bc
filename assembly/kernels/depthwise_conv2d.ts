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
import { param } from "../fixedpoint";
import { requantizeOne, requantize4, narrow8, storeBytes } from "./requantize";

export function depthwiseConv2d(p: usize): void {
  if (ASC_FEATURE_SIMD) {
    const IC = param(p, 8);
    const mult = param(p, 12);
    if (mult == 1 || IC == 1) { depthwiseSimd(p); return; }
  }
  depthwiseScalar(p);
}

// ---------------------------------------------------------------------------------------------
// Scalar path: TFLite Micro's loop order.
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
  const OCp = (OC + 7) & ~7;
  let out = output;
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - padT;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * SW - padL;
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
// (its value broadcast to all output channels). 8 channels per step, widened to i16:
// (x - inZp) fits i16 and so does its product with a weight; i32x4.extmul accumulates exactly.
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
  const OCp = (OC + 7) & ~7;
  const broadcast = IC == 1; // else depth multiplier 1: IC == OC
  const OC8 = OC & ~7;
  const zv = i16x8.splat(<i16>inZp);
  const outZp = i32x4.splat(outZpS), actMin = i32x4.splat(actMinS), actMax = i32x4.splat(actMaxS);
  let out = output;
  for (let b = 0; b < N; b++) {
    const img = input + <usize>(b * H * W * IC);
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * SH - padT;
      // The taps inside the image along y: ky in [ky0, ky1).
      let ky0 = 0, ky1 = KH;
      while (ky0 < KH && iy0 + ky0 * DH < 0) ky0++;
      while (ky1 > ky0 && iy0 + (ky1 - 1) * DH >= H) ky1--;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * SW - padL;
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
          storeBytes(out + <usize>c, narrow8(
            requantize4(acc0, rq, OCp, c, outZp, actMin, actMax),
            requantize4(acc1, rq, OCp, c + 4, outZp, actMin, actMax)), 8);
        }
        for (let c = OC8; c < OC; c++) {
          const ic = broadcast ? 0 : c;
          let acc = load<i32>(bias + (<usize>c << 2));
          for (let ky = ky0; ky < ky1; ky++) {
            const iy = iy0 + ky * DH;
            for (let kx = kx0; kx < kx1; kx++) {
              const ix = ix0 + kx * DW;
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
