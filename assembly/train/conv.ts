// CONV_2D, f32, NHWC input, OHWI weights, bias [O], dilation 1 (geometry block: geometry.ts).
// For one output pixel and one kernel row, the valid part of the window is contiguous in both
// the input row (kw0..kw1 × C) and the weight row, so every inner loop is one dot or axpy over
// that span.
import { dot, axpy, zeroF32 } from "./vec";
import { word, imax, imin, f4 } from "./geometry";

export function conv2dForward(g: usize, x: usize, w: usize, b: usize, y: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), O = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  let yp = y;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const span = (kw1 - kw0) * C;
        for (let o = 0; o < O; o++) {
          let acc = load<f32>(b + f4(o));
          for (let kh = kh0; kh < kh1; kh++) {
            const xs = x + f4(xn + ((ih0 + kh) * W + iw0 + kw0) * C);
            const ws = w + f4(((o * KH + kh) * KW + kw0) * C);
            acc += dot(xs, ws, span);
          }
          store<f32>(yp, acc);
          yp += 4;
        }
      }
    }
  }
}

// dw, db accumulate (+=); dx is overwritten, skipped when dx == 0.
export function conv2dBackward(g: usize, x: usize, w: usize, dy: usize, dx: usize, dw: usize, db: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), O = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  if (dx != 0) zeroF32(dx, N * H * W * C);
  let dyp = dy;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const span = (kw1 - kw0) * C;
        for (let o = 0; o < O; o++) {
          const gr = load<f32>(dyp);
          dyp += 4;
          const dbo = db + f4(o);
          store<f32>(dbo, load<f32>(dbo) + gr);
          for (let kh = kh0; kh < kh1; kh++) {
            const xi = xn + ((ih0 + kh) * W + iw0 + kw0) * C;
            const wi = ((o * KH + kh) * KW + kw0) * C;
            axpy(dw + f4(wi), x + f4(xi), gr, span);
            if (dx != 0) axpy(dx + f4(xi), w + f4(wi), gr, span);
          }
        }
      }
    }
  }
}
