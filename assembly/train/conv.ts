// CONV_2D, f32, NHWC input, OHWI weights, bias [O], dilation 1 (geometry block: geometry.ts).
//
// The forward pass and the weight gradient vectorise across OUTPUT channels, which works for any
// input depth (a first layer has C = 1): the weights are first transposed into a scratch buffer
// in HWIO order (KH*KW*C*O floats, supplied by the host), so that for one input value the O
// weights it meets are contiguous. The input gradient instead walks the OHWI weights, where one
// kernel row's valid cells are a contiguous span of (kw1 - kw0) * C values.
//
// Every output / gradient element is accumulated in the same order in the scalar and SIMD paths
// (elementwise f32 multiply then add), so both builds give identical bytes.
import { axpy, zeroF32 } from "./vec";
import { word, imax, imin, f4 } from "./geometry";

// scratch[((kh*KW + kw)*C + c)*O + o] = w[((o*KH + kh)*KW + kw)*C + c]
function toHWIO(w: usize, scratch: usize, O: i32, K: i32): void {
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < K; k++) store<f32>(scratch + f4(k * O + o), load<f32>(w + f4(o * K + k)));
  }
}

export function conv2dForward(g: usize, x: usize, w: usize, b: usize, y: usize, scratch: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), O = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  toHWIO(w, scratch, O, KH * KW * C);
  const O4 = O & ~3;
  let yp = y;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        // Four output channels at a time: one v128 accumulator, or four scalar ones.
        for (let o = 0; o < O4; o += 4) {
          if (ASC_FEATURE_SIMD) {
            let acc = v128.load(b + f4(o));
            for (let kh = kh0; kh < kh1; kh++) {
              for (let kw = kw0; kw < kw1; kw++) {
                const xs = x + f4(xn + ((ih0 + kh) * W + iw0 + kw) * C);
                const ws = scratch + f4((kh * KW + kw) * C * O + o);
                for (let c = 0; c < C; c++) {
                  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(xs + f4(c))), v128.load(ws + f4(c * O))));
                }
              }
            }
            v128.store(yp + f4(o), acc);
          } else {
            let a0 = load<f32>(b + f4(o)), a1 = load<f32>(b + f4(o + 1));
            let a2 = load<f32>(b + f4(o + 2)), a3 = load<f32>(b + f4(o + 3));
            for (let kh = kh0; kh < kh1; kh++) {
              for (let kw = kw0; kw < kw1; kw++) {
                const xs = x + f4(xn + ((ih0 + kh) * W + iw0 + kw) * C);
                const ws = scratch + f4((kh * KW + kw) * C * O + o);
                for (let c = 0; c < C; c++) {
                  const xv = load<f32>(xs + f4(c));
                  const wc = ws + f4(c * O);
                  a0 += xv * load<f32>(wc);
                  a1 += xv * load<f32>(wc, 4);
                  a2 += xv * load<f32>(wc, 8);
                  a3 += xv * load<f32>(wc, 12);
                }
              }
            }
            store<f32>(yp + f4(o), a0);
            store<f32>(yp + f4(o + 1), a1);
            store<f32>(yp + f4(o + 2), a2);
            store<f32>(yp + f4(o + 3), a3);
          }
        }
        for (let o = O4; o < O; o++) {
          let acc = load<f32>(b + f4(o));
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) {
              const xs = x + f4(xn + ((ih0 + kh) * W + iw0 + kw) * C);
              const ws = scratch + f4((kh * KW + kw) * C * O + o);
              for (let c = 0; c < C; c++) acc += load<f32>(xs + f4(c)) * load<f32>(ws + f4(c * O));
            }
          }
          store<f32>(yp + f4(o), acc);
        }
        yp += f4(O);
      }
    }
  }
}

// dw, db accumulate (+=); dx is overwritten. Each of dx, dw, db is skipped when its pointer is 0.
// scratch: KH*KW*C*O floats.
export function conv2dBackward(g: usize, x: usize, w: usize, dy: usize, dx: usize, dw: usize, db: usize, scratch: usize): void {
  const N = word(g, 0), H = word(g, 1), W = word(g, 2), C = word(g, 3);
  const OH = word(g, 4), OW = word(g, 5), O = word(g, 6), KH = word(g, 7), KW = word(g, 8);
  const sh = word(g, 9), sw = word(g, 10), pt = word(g, 11), pl = word(g, 12);
  const K = KH * KW * C;
  if (dx != 0) zeroF32(dx, N * H * W * C);
  if (dw != 0) zeroF32(scratch, K * O); // weight gradient for this call, HWIO
  let dyp = dy;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      const kh0 = imax(0, -ih0), kh1 = imin(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const kw0 = imax(0, -iw0), kw1 = imin(KW, W - iw0);
        if (db != 0) axpy(db, dyp, 1, O);
        if (dw != 0) {
          for (let kh = kh0; kh < kh1; kh++) {
            for (let kw = kw0; kw < kw1; kw++) {
              const xs = x + f4(xn + ((ih0 + kh) * W + iw0 + kw) * C);
              const ds = scratch + f4((kh * KW + kw) * C * O);
              for (let c = 0; c < C; c++) axpy(ds + f4(c * O), dyp, load<f32>(xs + f4(c)), O);
            }
          }
        }
        if (dx != 0) {
          const span = (kw1 - kw0) * C;
          for (let o = 0; o < O; o++) {
            const gr = load<f32>(dyp + f4(o));
            for (let kh = kh0; kh < kh1; kh++) {
              axpy(dx + f4(xn + ((ih0 + kh) * W + iw0 + kw0) * C), w + f4(((o * KH + kh) * KW + kw0) * C), gr, span);
            }
          }
        }
        dyp += f4(O);
      }
    }
  }
  if (dw == 0) return;
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < K; k++) {
      const p = dw + f4(o * K + k);
      store<f32>(p, load<f32>(p) + load<f32>(scratch + f4(k * O + o)));
    }
  }
}
