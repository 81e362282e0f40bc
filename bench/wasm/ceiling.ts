// Machine ceilings for the int8 kernels, measured in the same run as the peers (bench/lib/ceiling.mjs
// compiles this with asc): what one core's V8 gets out of i32x4.dot_i16x8_s.
//   peak:  eight independent dot + add chains on registers (the instruction's own throughput)
//   tile:  the register tile qedge's GEMM-like loops use (4 rows x 8 channels: four broadcast
//          input pairs, two int16 weight vectors, eight dots and adds per step), data in L1
//   tile8: the same with int8 weights widened as they are loaded (v128.load8x8_s)
//   tile12: 6 rows x 8 channels (twelve accumulators), to show what a bigger tile costs in V8

export function peak(n: i32): void {
  let a0 = i32x4.splat(1), a1 = i32x4.splat(2), a2 = i32x4.splat(3), a3 = i32x4.splat(4);
  let a4 = i32x4.splat(5), a5 = i32x4.splat(6), a6 = i32x4.splat(7), a7 = i32x4.splat(8);
  const x = i16x8.splat(3), y = i16x8.splat(5), z = i16x8.splat(7);
  for (let i = 0; i < n; i++) {
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, y)); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(y, z));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, z)); a3 = i32x4.add(a3, i32x4.dot_i16x8_s(z, y));
    a4 = i32x4.add(a4, i32x4.dot_i16x8_s(x, y)); a5 = i32x4.add(a5, i32x4.dot_i16x8_s(y, z));
    a6 = i32x4.add(a6, i32x4.dot_i16x8_s(x, z)); a7 = i32x4.add(a7, i32x4.dot_i16x8_s(z, y));
  }
  v128.store(0, i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7))));
}

const X: usize = 4096;   // 128 k-pairs x 4 rows of int16 pairs (2 KB)
const W: usize = 8192;   // 128 k-pairs x 8 channels of int16 pairs (4 KB)

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
