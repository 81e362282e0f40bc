// The machine-ceiling microkernels (bench/wasm/ceiling.ts) compute what their comments say, checked
// against a plain JS reference on pseudo-random data. This is what makes the GMAC/s the bench prints
// mean anything: a loop whose dots were folded or hoisted (as an earlier `peak` was) would time
// something else, and its result would not depend on the iteration count.
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS module without type declarations
import { compileCeiling } from "../../bench/lib/ceiling.mjs";

const X = 4096, W = 8192;

/** i32x4.dot_i16x8_s on little-endian lanes: lane i = a16[2i]*b16[2i] + a16[2i+1]*b16[2i+1], wrapped. */
function dot(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(4);
  const a16 = new Int16Array(a.buffer, a.byteOffset, 8), b16 = new Int16Array(b.buffer, b.byteOffset, 8);
  for (let i = 0; i < 4; i++) out[i] = (a16[2 * i] * b16[2 * i] + a16[2 * i + 1] * b16[2 * i + 1]) | 0;
  return out;
}

function fill(mem: Int16Array, seed: number) {
  let s = seed >>> 0;
  for (let i = 0; i < mem.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    mem[i] = (s >>> 16) - 32768;
  }
}

/** Sum over rows and both 4-channel halves of a rows x 8 tile over 128 k-pairs (the tiles' stored result). */
function tileRef(x: Int16Array, w: Int16Array, rows: number, rowsInSum: number[]): Int32Array {
  const out = new Int32Array(4);
  for (let kp = 0; kp < 128; kp++) {
    for (const r of rowsInSum) {
      const x0 = x[(kp * rows + r) * 2], x1 = x[(kp * rows + r) * 2 + 1];
      for (let c = 0; c < 8; c++) {
        // int16 weights: 8 channels x (k, k+1) as 16 int16 per k-pair; int8: the same as 16 int8.
        const w0 = w[kp * 16 + c * 2], w1 = w[kp * 16 + c * 2 + 1];
        out[c & 3] = (out[c & 3] + x0 * w0 + x1 * w1) | 0;
      }
    }
  }
  return out;
}

describe("bench machine-ceiling kernels", () => {
  const compiled = compileCeiling();
  it("compile with the project's asc", () => {
    expect(compiled.error).toBeUndefined();
  });
  const instance = () => {
    const e = new WebAssembly.Instance(new WebAssembly.Module(compiled.wasm), { env: { abort() {} } }).exports as Record<string, any>;
    return { e, mem: e.memory.buffer as ArrayBuffer };
  };

  it("peak runs n chained dots per lane (result depends on every iteration)", () => {
    const { e, mem } = instance();
    const results: number[][] = [];
    for (const n of [1, 2, 5]) {
      fill(new Int16Array(mem, 0, 72), 7);
      const y = new Int32Array(mem.slice(128, 144));
      const chains: Int32Array[] = Array.from({ length: 8 }, (_, i) => new Int32Array(mem.slice(i * 16, i * 16 + 16)));
      for (let it = 0; it < n; it++) for (let i = 0; i < 8; i++) chains[i] = dot(chains[i], y);
      const want = new Int32Array(4);
      for (const c of chains) for (let l = 0; l < 4; l++) want[l] = (want[l] + c[l]) | 0;
      e.peak(n);
      const got = Array.from(new Int32Array(mem, 0, 4));
      expect(got).toEqual(Array.from(want));
      results.push(got);
    }
    expect(results[0]).not.toEqual(results[1]);
  });

  it("tile is the 4x8 int16 register tile over 128 k-pairs", () => {
    const { e, mem } = instance();
    fill(new Int16Array(mem, X, 1024), 11);
    fill(new Int16Array(mem, W, 2048), 13);
    const want = tileRef(new Int16Array(mem, X, 1024), new Int16Array(mem, W, 2048), 4, [0, 1, 2, 3]);
    e.tile(1);
    expect(Array.from(new Int32Array(mem, 16, 4))).toEqual(Array.from(want));
  });

  it("tile8 widens int8 weights on load", () => {
    const { e, mem } = instance();
    fill(new Int16Array(mem, X, 1024), 17);
    const w8 = new Int8Array(mem, W, 2048);
    for (let i = 0; i < w8.length; i++) w8[i] = ((i * 37) % 255) - 127;
    const wide = Int16Array.from(w8);
    const want = tileRef(new Int16Array(mem, X, 1024), wide, 4, [0, 1, 2, 3]);
    e.tile8(1);
    expect(Array.from(new Int32Array(mem, 16, 4))).toEqual(Array.from(want));
  });

  it("tile12 is the 6x8 tile (rows 0-3 stored at 16, rows 4-5 at 32)", () => {
    const { e, mem } = instance();
    fill(new Int16Array(mem, X, 1536), 19);
    fill(new Int16Array(mem, W, 2048), 23);
    const x = new Int16Array(mem, X, 1536), w = new Int16Array(mem, W, 2048);
    const want16 = tileRef(x, w, 6, [0, 1, 2, 3]), want32 = tileRef(x, w, 6, [4, 5]);
    e.tile12(1);
    expect(Array.from(new Int32Array(mem, 16, 4))).toEqual(Array.from(want16));
    expect(Array.from(new Int32Array(mem, 32, 4))).toEqual(Array.from(want32));
  });
});
