// AVERAGE_POOL_2D and MAX_POOL_2D, f32, NHWC (geometry block: geometry.ts, pooling layout).
// As in TFLite, an average counts only the window cells inside the input (padding excluded);
// a max takes the first maximal cell, and its backward pass routes the gradient there.
import { axpy, zeroF32 } from "./vec";
import { word, imax, imin, f4 } from "./geometry";

export function avgPoolForward(g: usize, x: usize, y: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), KH = word(g, 6), KW = word(g, 7);
  const sh = word(g, 8), sw = word(g, 9), pt = word(g, 10), pl = word(g, 11);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const yp = y + f4(((n * OH + oh) * OW + ow) * C);
        zeroF32(yp, C);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            axpy(yp, x + f4(((n * H + ih0 + kh) * W + iw0 + kw) * C), 1, C);
          }
        }
        const count = <f32>((kh1 - kh0) * (kw1 - kw0));
        for (let c = 0; c < C; c++) store<f32>(yp + f4(c), load<f32>(yp + f4(c)) / count);
      }
    }
  }
}

// dx is overwritten.
export function avgPoolBackward(g: usize, dy: usize, dx: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), KH = word(g, 6), KW = word(g, 7);
  const sh = word(g, 8), sw = word(g, 9), pt = word(g, 10), pl = word(g, 11);
  zeroF32(dx, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const dyp = dy + f4(((n * OH + oh) * OW + ow) * C);
        const inv = <f32>1 / <f32>((kh1 - kh0) * (kw1 - kw0));
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            axpy(dx + f4(((n * H + ih0 + kh) * W + iw0 + kw) * C), dyp, inv, C);
          }
        }
      }
    }
  }
}

// Index (into x, in elements) of the first maximal cell of one window for channel c.
// @ts-ignore: decorator
@inline
function argmaxCell(x: usize, base: i32, W: i32, C: i32, c: i32, kh0: i32, kh1: i32, kw0: i32, kw1: i32): i32 {
  let best = -1;
  let bestV: f32 = 0;
  for (let kh = kh0; kh < kh1; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      const i = base + (kh * W + kw) * C + c;
      const v = load<f32>(x + f4(i));
      if (best < 0 || v > bestV) { best = i; bestV = v; }
    }
  }
  return best;
}

export function maxPoolForward(g: usize, x: usize, y: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), KH = word(g, 6), KW = word(g, 7);
  const sh = word(g, 8), sw = word(g, 9), pt = word(g, 10), pl = word(g, 11);
  let yp = y;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const base = ((n * H + ih0) * W + iw0) * C;
        for (let c = 0; c < C; c++) {
          store<f32>(yp, load<f32>(x + f4(argmaxCell(x, base, W, C, c, kh0, kh1, kw0, kw1))));
          yp += 4;
        }
      }
    }
  }
}

// dx is overwritten; x is the forward input (the max is recomputed rather than stored).
export function maxPoolBackward(g: usize, x: usize, dy: usize, dx: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), KH = word(g, 6), KW = word(g, 7);
  const sh = word(g, 8), sw = word(g, 9), pt = word(g, 10), pl = word(g, 11);
  zeroF32(dx, N * H * W * C);
  let dyp = dy;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const base = ((n * H + ih0) * W + iw0) * C;
        for (let c = 0; c < C; c++) {
          const p = dx + f4(argmaxCell(x, base, W, C, c, kh0, kh1, kw0, kw1));
          store<f32>(p, load<f32>(p) + load<f32>(dyp));
          dyp += 4;
        }
      }
    }
  }
}
