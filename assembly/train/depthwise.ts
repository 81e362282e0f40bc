// DEPTHWISE_CONV_2D, f32, NHWC input [N,H,W,C], weights [1,KH,KW,C*M], bias [C*M], output
// channel c*M + j reads input channel c (geometry block: geometry.ts, word 6 = M).
// With M == 1 each window cell is an elementwise multiply-accumulate across channels.
import { mulAcc, axpy, copyF32, zeroF32 } from "./vec";
import { word, imax, imin, f4 } from "./geometry";

export function depthwiseForward(g: usize, x: usize, w: usize, b: usize, y: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), M = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  const OC = C * M;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const yp = y + f4(((n * OH + oh) * OW + ow) * OC);
        copyF32(yp, b, OC);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const xp = x + f4(((n * H + ih0 + kh) * W + iw0 + kw) * C);
            const wp = w + f4((kh * KW + kw) * OC);
            if (M == 1) {
              mulAcc(yp, xp, wp, C);
            } else {
              for (let c = 0; c < C; c++) {
                const xv = load<f32>(xp + f4(c));
                for (let j = 0; j < M; j++) {
                  const oc = f4(c * M + j);
                  store<f32>(yp + oc, load<f32>(yp + oc) + xv * load<f32>(wp + oc));
                }
              }
            }
          }
        }
      }
    }
  }
}

// dw, db accumulate (+=); dx is overwritten. Each of dx, dw, db is skipped when its pointer is 0.
export function depthwiseBackward(g: usize, x: usize, w: usize, dy: usize, dx: usize, dw: usize, db: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), M = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  const OC = C * M;
  if (dx != 0) zeroF32(dx, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        const dyp = dy + f4(((n * OH + oh) * OW + ow) * OC);
        if (db != 0) axpy(db, dyp, 1, OC);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const xo = f4(((n * H + ih0 + kh) * W + iw0 + kw) * C);
            const wo = f4((kh * KW + kw) * OC);
            if (M == 1) {
              if (dw != 0) mulAcc(dw + wo, dyp, x + xo, C);
              if (dx != 0) mulAcc(dx + xo, dyp, w + wo, C);
            } else {
              for (let c = 0; c < C; c++) {
                const xv = load<f32>(x + xo + f4(c));
                let gx: f32 = 0;
                for (let j = 0; j < M; j++) {
                  const oc = f4(c * M + j);
                  const gy = load<f32>(dyp + oc);
                  if (dw != 0) store<f32>(dw + wo + oc, load<f32>(dw + wo + oc) + gy * xv);
                  gx += gy * load<f32>(w + wo + oc);
                }
                if (dx != 0) store<f32>(dx + xo + f4(c), load<f32>(dx + xo + f4(c)) + gx);
              }
            }
          }
        }
      }
    }
  }
}
