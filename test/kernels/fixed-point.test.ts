// The gemmlowp fixed-point routines of assembly/gemmlowp.ts, bit for bit against the TypeScript
// reference on raw int32 values (int8 outputs hide most 1-ulp slips, so they are probed
// directly): a small AssemblyScript entry exposes them and is compiled here with asc.
import { beforeAll, describe, expect, it } from "vitest";
import asc from "assemblyscript/asc";
import { rng } from "../helpers/kernel-harness.js";
import * as ref from "../reference/gemmlowp.js";
import { refLogisticInt16, refTanhInt16 } from "../reference/lstm.js";

interface Probe {
  expNeg(a: number, bits: number): number;
  oneOverOnePlusX(a: number): number;
  logistic(a: number, bits: number): number;
  tanh(a: number, bits: number): number;
  reciprocal(x: number, bits: number): number;
  reciprocalBits(): number;
  rescaleBits(x: number, from: number, to: number): number;
  halfSum(a: number, b: number): number;
  sigmoid16(x: number): number;
  tanh16(x: number, multiplier: number, shift: number): number;
  srdhm(a: number, b: number): number;
  rdpot(x: number, e: number): number;
  mbqm(x: number, m: number, s: number): number;
}

let probe: Probe;
beforeAll(async () => {
  const files: Record<string, Uint8Array> = {};
  const res = await asc.main(
    // Its own asconfig, so the project's build targets and entries do not leak in.
    ["test/kernels/wasm/fixed-point-probe.ts", "--config", "test/kernels/wasm/asconfig.json", "--outFile", "probe.wasm"],
    { writeFile: (name: string, contents: Uint8Array | string) => { files[name] = contents as Uint8Array; } },
  );
  if (res.error) throw new Error(`asc failed: ${res.error.message}\n${res.stderr.toString()}`);
  probe = new WebAssembly.Instance(new WebAssembly.Module(files["probe.wasm"] as Uint8Array<ArrayBuffer>), {}).exports as unknown as Probe;
});

const EDGES = [0, 1, -1, 2, -2, 2 ** 30, -(2 ** 30), 2 ** 29 - 1, -(2 ** 29) + 1, 2 ** 29, -(2 ** 29),
  2147483647, -2147483648, 2147483646, -2147483647, 1 << 26, -(1 << 26), (1 << 26) + 1];

/** Random int32s: uniform, log-uniform magnitudes and edge values. */
function samples(seed: number, n: number): number[] {
  const r = rng(seed);
  const out = [...EDGES];
  for (let i = 0; i < n; i++) {
    const u = r();
    if (i % 2 === 0) out.push(Math.floor(u * 2 ** 32) - 2 ** 31);
    else out.push(Math.trunc((r() < 0.5 ? -1 : 1) * 2 ** (31 * u)) | 0);
  }
  return out;
}

describe("TFLite integer primitives (assembly/fixedpoint.ts) vs BigInt reference", () => {
  it("SaturatingRoundingDoublingHighMul on edges and random int32 pairs, incl. MIN*MIN", () => {
    const xs = samples(101, 3000), ys = samples(102, 3000);
    for (let i = 0; i < xs.length; i++) {
      for (const [a, b] of [[xs[i], ys[i]], [xs[i], xs[(i * 7) % xs.length]], [EDGES[i % EDGES.length], ys[i]]]) {
        expect(probe.srdhm(a, b), `a=${a} b=${b}`).toBe(ref.srdhm(a, b));
      }
    }
  });
  it("RoundingDivideByPOT for exponents 0..31 and MultiplyByQuantizedMultiplier for shifts -31..10", () => {
    const xs = samples(103, 2000);
    const ms = samples(104, 200).map((m) => (Math.abs(m) % 2 ** 30) + 2 ** 30); // multipliers in [2^30, 2^31)
    for (let i = 0; i < xs.length; i++) {
      const e = i % 32;
      expect(probe.rdpot(xs[i], e), `x=${xs[i]} e=${e}`).toBe(ref.rdpot(xs[i], e));
      const shift = (i % 42) - 31, m = ms[i % ms.length];
      const x = shift > 0 ? xs[i] >> shift : xs[i]; // TFLite never shifts an int32 out of range
      expect(probe.mbqm(x, m, shift), `x=${x} m=${m} shift=${shift}`).toBe(ref.mbqm(x, m, shift));
    }
  });
});

describe("gemmlowp fixed point (AssemblyScript) vs TypeScript reference", () => {
  it("exp_on_negative_values for 2..6 integer bits", () => {
    for (const bits of [2, 3, 4, 5, 6]) {
      for (const s of samples(bits, 8000)) {
        const a = s > 0 ? -s : s;
        expect(probe.expNeg(a, bits), `a=${a} bits=${bits}`).toBe(ref.expNeg(a, bits));
      }
    }
  });

  it("exp(0) = 1 and exp(-1) = 0.3679 in Q0.31 (hand-derived)", () => {
    expect(probe.expNeg(0, 5)).toBe(2147483647);
    expect(Math.abs(probe.expNeg(-(1 << 26), 5) / 2 ** 31 - Math.exp(-1))).toBeLessThan(1e-6);
  });

  it("one_over_one_plus_x_for_x_in_0_1", () => {
    for (const s of samples(21, 10000)) {
      const a = s < 0 ? (s === -2147483648 ? 0 : -s) : s;
      expect(probe.oneOverOnePlusX(a), `a=${a}`).toBe(ref.oneOverOnePlusX(a));
    }
  });

  it("logistic and tanh for 3..5 integer bits", () => {
    for (const bits of [3, 4, 5]) {
      for (const a of samples(30 + bits, 8000)) {
        expect(probe.logistic(a, bits), `logistic a=${a}`).toBe(ref.logisticQ(a, bits));
        expect(probe.tanh(a, bits), `tanh a=${a}`).toBe(ref.tanhQ(a, bits));
      }
    }
  });

  it("logistic and tanh agree with float math to 1e-6", () => {
    for (const x of [-7.9, -3, -1, -0.25, 0.001, 0.5, 2, 7.5]) {
      const raw = Math.round(x * 2 ** 27);
      expect(Math.abs(probe.logistic(raw, 4) / 2 ** 31 - 1 / (1 + Math.exp(-x)))).toBeLessThan(1e-6);
      expect(Math.abs(probe.tanh(raw, 4) / 2 ** 31 - Math.tanh(x))).toBeLessThan(1e-6);
    }
  });

  it("GetReciprocal with 12 integer bits", () => {
    for (const s of samples(41, 10000)) {
      const x = s > 0 ? s : s === 0 ? 1 : s === -2147483648 ? 2147483647 : -s;
      const got = probe.reciprocal(x, 12);
      const bitsOver = probe.reciprocalBits();
      const lz = Math.clz32(x);
      const want = ref.oneOverOnePlusX(ref.wrap(Number((BigInt(x) << BigInt(lz)) & 0xffffffffn) - 2 ** 31));
      expect([got, bitsOver], `x=${x}`).toEqual([want, 12 - lz]);
    }
  });

  it("Rescale and RoundingHalfSum", () => {
    const xs = samples(51, 3000);
    for (const [from, to] of [[0, 12], [12, 0], [5, 0], [0, 5], [4, 2], [2, 0], [1, 0], [3, 3]]) {
      for (const x of xs) expect(probe.rescaleBits(x, from, to), `x=${x} ${from}->${to}`).toBe(ref.rescale(x, from, to));
    }
    const ys = samples(52, 3000);
    xs.forEach((x, i) => expect(probe.halfSum(x, ys[i])).toBe(ref.roundingHalfSum(x, ys[i])));
  });

  it("int16 LUT sigmoid (Q3.12 in) and tanh (several input rescales) for every int16 input", () => {
    // Kernel (multiplier, shift) and TFLM's (input_multiplier, input_left_shift) for the cell
    // scales 2^-12, 2^-11, 2^-10 (power-of-two form: multiplier 0) and 2^-15, 2^-13 (rounding).
    const rescales: Array<[number, number, number, number]> = [[3, 0, 0, 0], [6, 0, 0, 1], [12, 0, 0, 2], [3, 3, 3, 3], [3, 1, 3, 1]];
    for (let x = -32768; x <= 32767; x++) {
      if (probe.sigmoid16(x) !== refLogisticInt16(x, 0, 0)) expect(probe.sigmoid16(x), `sigmoid x=${x}`).toBe(refLogisticInt16(x, 0, 0));
      for (const [m, s, tm, ts] of rescales) {
        const want = refTanhInt16(x, tm, ts);
        const got = probe.tanh16(x, m, s);
        if (got !== want) expect(got, `tanh x=${x} m=${m} s=${s}`).toBe(want);
      }
    }
  });

  it("int16 sigmoid / tanh agree with float math to 2 LSB", () => {
    for (let x = -32768; x <= 32767; x += 7) {
      expect(Math.abs(probe.sigmoid16(x) - 32768 / (1 + Math.exp(-x / 4096)))).toBeLessThan(2);
      expect(Math.abs(probe.tanh16(x, 3, 0) - 32768 * Math.tanh(x / 4096))).toBeLessThan(2.5);
    }
  });
});
