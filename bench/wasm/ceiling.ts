// Machine ceilings for the int8 kernels, measured in the same run as the peers (bench/lib/ceiling.mjs
// compiles this with asc): what one core's V8 gets out of i32x4.dot_i16x8_s.
//   peak:  eight independent chains of dots on registers (the instruction's own throughput). Each
//          dot takes the previous one's result, so neither Binaryen nor V8 can fold or hoist it
//          (an earlier version dotted constants: both compilers hoisted the dots and it timed adds)
//   tile:  the register tile qedge's GEMM-like loops use (4 rows x 8 channels: four broadcast
//          input pairs, two int16 weight vectors, eight dots and adds per step), data in L1
//   tile8: the same with int8 weights widened as they are loaded (v128.load8x8_s)
//   tile12: 6 rows x 8 channels (twelve accumulators), to show what a bigger tile costs in V8
// Memory: the chains start from the 8 vectors at 0..127 and dot with the one at 128; results go
// to 0 (peak) and 16/32 (tiles). test/bench/ceiling.test.ts checks each against a JS reference.

const X: usize = 4096;   // 128 k-pairs x 4 rows of int16 pairs (2 KB; 6 rows for tile12: 3 KB)
const W: usize = 8192;   // 128 k-pairs x 8 channels of int16 pairs (4 KB)

export function peak(n: i32): void {
  let a0 = v128.load(0), a1 = v128.load(16), a2 = v128.load(32), a3 = v128.load(48);
  let a4 = v128.load(64), a5 = v128.load(80), a6 = v128.load(96), a7 = v128.load(112);
  const y = v128.load(128);
  for (let i = 0; i < n; i++) {
    a0 = i32x4.dot_i16x8_s(a0, y); a1 = i32x4.dot_i16x8_s(a1, y); a2 = i32x4.dot_i16x8_s(a2, y); a3 = i32x4.dot_i16x8_s(a3, y);
    a4 = i32x4.dot_i16x8_s(a4, y); a5 = i32x4.dot_i16x8_s(a5, y); a6 = i32x4.dot_i16x8_s(a6, y); a7 = i32x4.dot_i16x8_s(a7, y);
  }
  v128.store(0, i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7))));
}

export function tile(n: i32): void {
  for (let r = 0; r < n; r++) {
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    let xp = X, wp = W;
    do {
      const wlo = v128.load(wp), whi = v128.load(wp, 16);
      let xv = v128.load32_splat(xp);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 4);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 8);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 12);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xv, whi));
      xp += 16;
      wp += 32;
    } while (xp < X + 2048);
    v128.store(16, i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(b0, b1), i32x4.add(b2, b3))));
  }
}

export function tile8(n: i32): void {
  for (let r = 0; r < n; r++) {
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    let xp = X, wp = W;
    do {
      const wlo = v128.load8x8_s(wp), whi = v128.load8x8_s(wp, 8);
      let xv = v128.load32_splat(xp);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 4);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 8);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 12);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xv, whi));
      xp += 16;
      wp += 16;
    } while (xp < X + 2048);
    v128.store(16, i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(b0, b1), i32x4.add(b2, b3))));
  }
}

export function tile12(n: i32): void {
  for (let r = 0; r < n; r++) {
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
    let xp = X, wp = W;
    do {
      const wlo = v128.load(wp), whi = v128.load(wp, 16);
      let xv = v128.load32_splat(xp);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, wlo)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 4);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, wlo)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 8);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, wlo)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 12);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, wlo)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 16);
      a4 = i32x4.add(a4, i32x4.dot_i16x8_s(xv, wlo)); b4 = i32x4.add(b4, i32x4.dot_i16x8_s(xv, whi));
      xv = v128.load32_splat(xp, 20);
      a5 = i32x4.add(a5, i32x4.dot_i16x8_s(xv, wlo)); b5 = i32x4.add(b5, i32x4.dot_i16x8_s(xv, whi));
      xp += 24;
      wp += 32;
    } while (xp < X + 3072);
    v128.store(16, i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(b0, b1), i32x4.add(b2, b3))));
    v128.store(32, i32x4.add(i32x4.add(a4, a5), i32x4.add(b4, b5)));
  }
}
