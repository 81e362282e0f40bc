// OP_AVERAGE_POOL_2D and OP_MAX_POOL_2D (int8 NHWC; input and output share scale and zero point).
// Parameter words (both ops):
//   0 input, 1 output
//   2 batches, 3 in height, 4 in width, 5 channels, 6 out height, 7 out width
//   8 filter height, 9 filter width, 10 stride height, 11 stride width
//   12 pad top, 13 pad left   (cells outside the input are skipped, not counted)
//   14 activation min, 15 activation max
// The host guarantees every window overlaps the input (TFLM fails an average pool otherwise).
import { clampI32, param } from "../fixedpoint";

// 16 lane sums of the SIMD average, spilled to memory to divide them one by one.
const SUMS: usize = memory.data(64, 16);

export function averagePool2d(p: usize): void {
  pool(p, false);
}

export function maxPool2d(p: usize): void {
  pool(p, true);
}

// @ts-ignore: decorator
@inline
function pool(p: usize, isMax: bool): void {
  const input = <usize>param(p, 0);
  const output = <usize>param(p, 1);
  const batches = param(p, 2);
  const inH = param(p, 3);
  const inW = param(p, 4);
  const channels = param(p, 5);
  const outH = param(p, 6);
  const outW = param(p, 7);
  const fH = param(p, 8);
  const fW = param(p, 9);
  const sH = param(p, 10);
  const sW = param(p, 11);
  const padT = param(p, 12);
  const padL = param(p, 13);
  const lo = param(p, 14);
  const hi = param(p, 15);
  const rowStride = inW * channels;
  let dst = output;
  for (let b = 0; b < batches; b++) {
    const image = input + <usize>(b * inH * rowStride);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sH - padT;
      const yStart = max(0, y0);
      const yEnd = min(inH, y0 + fH);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sW - padL;
        const xStart = max(0, x0);
        const xEnd = min(inW, x0 + fW);
        const count = (yEnd - yStart) * (xEnd - xStart);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          // 16 channels at a time; the average keeps exact i32 sums per lane.
          for (; c + 16 <= channels; c += 16) {
            if (isMax) {
              let m = i8x16.splat(-128);
              for (let y = yStart; y < yEnd; y++) {
                let src = image + <usize>(y * rowStride + xStart * channels + c);
                for (let x = xStart; x < xEnd; x++) {
                  m = i8x16.max_s(m, v128.load(src));
                  src += <usize>channels;
                }
              }
              m = i8x16.max_s(m, i8x16.splat(<i8>lo));
              m = i8x16.min_s(m, i8x16.splat(<i8>hi));
              v128.store(dst + <usize>c, m);
            } else {
              let s0 = i32x4.splat(0);
              let s1 = i32x4.splat(0);
              let s2 = i32x4.splat(0);
              let s3 = i32x4.splat(0);
              for (let y = yStart; y < yEnd; y++) {
                let src = image + <usize>(y * rowStride + xStart * channels + c);
                for (let x = xStart; x < xEnd; x++) {
                  const v = v128.load(src);
                  const vl = i16x8.extend_low_i8x16_s(v);
                  const vh = i16x8.extend_high_i8x16_s(v);
                  s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(vl));
                  s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(vl));
                  s2 = i32x4.add(s2, i32x4.extend_low_i16x8_s(vh));
                  s3 = i32x4.add(s3, i32x4.extend_high_i16x8_s(vh));
                  src += <usize>channels;
                }
              }
              v128.store(SUMS, s0);
              v128.store(SUMS, s1, 16);
              v128.store(SUMS, s2, 32);
              v128.store(SUMS, s3, 48);
              const d = dst + <usize>c;
              for (let j = 0; j < 16; j++) {
                store<i8>(d + <usize>j, <i8>averageOf(load<i32>(SUMS + (<usize>j << 2)), count, lo, hi));
              }
            }
          }
        }
        for (; c < channels; c++) {
          let acc: i32 = isMax ? -128 : 0;
          for (let y = yStart; y < yEnd; y++) {
            let src = image + <usize>(y * rowStride + xStart * channels + c);
            for (let x = xStart; x < xEnd; x++) {
              const v = <i32>load<i8>(src);
              if (isMax) { if (v > acc) acc = v; } else acc += v;
              src += <usize>channels;
            }
          }
          const out = isMax ? clampI32(acc, lo, hi) : averageOf(acc, count, lo, hi);
          store<i8>(dst + <usize>c, <i8>out);
        }
        dst += <usize>channels;
      }
    }
  }
}

// TFLM's rounding: half away from zero, then C's truncating division; then the clamp.
// @ts-ignore: decorator
@inline
function averageOf(sum: i32, count: i32, lo: i32, hi: i32): i32 {
  const half = count / 2;
  const q = (sum > 0 ? sum + half : sum - half) / count;
  return clampI32(q, lo, hi);
}
