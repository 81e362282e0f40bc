// The pure parts of `qedge bench`: argument parsing, order statistics, deterministic input,
// and the shape of the JSON report. Expected values are derived by hand in the comments.
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  benchCommand, benchModel, benchModels, deterministicBytes, deterministicFloats, inputBytesFor, parseBenchArgs, quantile, summarize,
  type BenchableModel,
} from "../../host/cli/bench.js";
import { InvalidArgumentError } from "../../host/errors.js";
import { SHARED } from "../helpers/shared.js";

describe("quantile / summarize", () => {
  it("interpolates linearly between ranks", () => {
    const s = [1, 2, 3, 4, 5];
    expect(quantile(s, 0.5)).toBe(3);
    // p10: position 0.1 * 4 = 0.4 -> 1 + 0.4 * (2 - 1)
    expect(quantile(s, 0.1)).toBeCloseTo(1.4, 12);
    // p90: position 3.6 -> 4 + 0.6 * (5 - 4)
    expect(quantile(s, 0.9)).toBeCloseTo(4.6, 12);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([7], 0.9)).toBe(7);
  });

  it("sorts an unsorted sample before taking order statistics", () => {
    const s = summarize([5, 1, 40, 2, 3, 4, 6, 7, 8, 9, 10]);
    // sorted: 1..10, 40 (11 values): median at position 5 -> 6; p10 at 1 -> 2; p90 at 9 -> 10
    expect(s).toMatchObject({ n: 11, median: 6, p10: 2, p90: 10, min: 1, max: 40 });
    expect(s.mean).toBeCloseTo(95 / 11, 12);
  });

  it("refuses an empty sample with a typed error", () => {
    expect(() => summarize([])).toThrow(InvalidArgumentError);
  });
});

describe("deterministicBytes (xorshift32 13/17/5)", () => {
  it("matches the generator worked by hand from seed 1", () => {
    // x = 1: x ^= x<<13 -> 0x2001; x ^= x>>>17 -> 0x2001; x ^= x<<5 -> 0x2001 ^ 0x40020 = 0x42021 (270369)
    // next: 0x42021 ^ 0x84042000 = 0x84000021; ^ (>>>17 = 0x4200) = 0x84004221;
    //       ^ (<<5 = 0x80084420) = 0x04080601 (67634689). Bytes little-endian.
    expect([...deterministicBytes(8, 1)]).toEqual([0x21, 0x20, 0x04, 0x00, 0x01, 0x06, 0x08, 0x04]);
  });

  it("is repeatable, seed-dependent and handles lengths that are not a multiple of 4", () => {
    expect(deterministicBytes(10, 1).subarray(0, 8)).toEqual(deterministicBytes(8, 1));
    expect(deterministicBytes(64)).toEqual(deterministicBytes(64));
    expect(deterministicBytes(64, 2)).not.toEqual(deterministicBytes(64, 3));
  });

  it("gives finite floats in [-1, 1) for float inputs", () => {
    const f = deterministicFloats(1000);
    expect(f.every((v) => Number.isFinite(v) && v >= -1 && v < 1)).toBe(true);
    // first word from seed 1 is 270369 -> 270369 / 2^31 - 1
    expect(deterministicFloats(1, 1)[0]).toBeCloseTo(270369 / 2 ** 31 - 1, 6);
  });
});

describe("parseBenchArgs", () => {
  it("fills the documented defaults", () => {
    expect(parseBenchArgs(["m.tflite"])).toEqual({
      model: "m.tflite", input: null, runs: 200, warmup: 20, warmupMs: 250, kernels: "auto", plainCore: false, json: false, winograd: true, strassen: true,
    });
  });

  it("reads every option", () => {
    expect(parseBenchArgs(["--runs", "50", "--warmup", "0", "--warmup-ms", "0", "--kernels", "simd", "--json", "--input", "x.bin", "--no-winograd", "--no-strassen", "m.tflite"]))
      .toEqual({ model: "m.tflite", input: "x.bin", runs: 50, warmup: 0, warmupMs: 0, kernels: "simd", plainCore: false, json: true, winograd: false, strassen: false });
  });

  it("returns null for --help", () => {
    expect(parseBenchArgs(["--help"])).toBeNull();
    expect(parseBenchArgs(["m.tflite", "-h"])).toBeNull();
  });

  it.each([
    [[], /one MODEL/],
    [["a", "b"], /one MODEL/],
    [["m", "--kernels", "fast"], /--kernels must be one of/],
    [["m", "--runs", "abc"], /--runs must be a whole number/],
    [["m", "--runs", "0"], /--runs must be at least 1/],
    [["m", "--warmup", "-1"], /warmup/],
    [["m", "--warmup-ms", "1.5"], /--warmup-ms must be a whole number/],
    [["m", "--bogus"], /bogus/],
  ])("rejects %j with a typed error", (args, msg) => {
    expect(() => parseBenchArgs(args as string[])).toThrow(InvalidArgumentError);
    expect(() => parseBenchArgs(args as string[])).toThrow(msg);
  });
});

/** A stand-in model: two inputs (3 and 5 bytes), counts invokes, records what it was fed. */
function fakeModel() {
  const buffers = [new Uint8Array(3), new Uint8Array(5)];
  const fed: number[][] = [];
  const m: BenchableModel & { invokes: number; fed: number[][] } = {
    kernels: "scalar",
    memory: { arenaBytes: 1234, weightBytes: 567, wasmMemoryBytes: 65536 },
    inputs: [{ byteLength: 3, typeName: "int8", shape: [3] }, { byteLength: 5, typeName: "int8", shape: [5] }],
    input: (i: number) => buffers[i],
    invoke() { m.invokes++; fed.push([...buffers[0], ...buffers[1]]); buffers[0].fill(0); },
    invokes: 0,
    fed,
  };
  return m;
}

describe("inputBytesFor", () => {
  it("splits a file over the inputs in order", () => {
    const parts = inputBytesFor(fakeModel(), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(parts.map((p) => [...p])).toEqual([[1, 2, 3], [4, 5, 6, 7, 8]]);
  });

  it("names the expected sizes when the file does not fit", () => {
    expect(() => inputBytesFor(fakeModel(), new Uint8Array(7))).toThrow(InvalidArgumentError);
    expect(() => inputBytesFor(fakeModel(), new Uint8Array(7))).toThrow(/7 bytes.*need 8.*input 0 int8 \[3\] = 3 B/);
  });
});

describe("benchModel report", () => {
  it("has the documented JSON keys, invokes 1 + warmup + runs times and refills inputs every time", async () => {
    const m = fakeModel();
    const input = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
    const r = await benchModel(new Uint8Array(4), {
      name: "fake.tflite", kernels: "auto", runs: 7, warmup: 3, input, load: async () => m,
    });
    expect(m.invokes).toBe(1 + 3 + 7);
    // the fake clobbers input 0 after each invoke; every invoke must still see the input bytes
    expect(m.fed.every((f) => f.join() === "9,8,7,6,5,4,3,2")).toBe(true);
    const json = JSON.parse(JSON.stringify(r));
    for (const k of ["model", "kernels", "median_ms", "p10_ms", "p90_ms", "load_ms", "arena_bytes",
      "first_invoke_ms", "weight_bytes", "wasm_memory_bytes", "runs", "warmup"]) {
      expect(json, k).toHaveProperty(k);
    }
    expect(json).toMatchObject({ model: "fake.tflite", kernels: "scalar", runs: 7, warmup: 3,
      arena_bytes: 1234, weight_bytes: 567, wasm_memory_bytes: 65536, input: "file" });
    expect(json.p10_ms).toBeLessThanOrEqual(json.median_ms);
    expect(json.median_ms).toBeLessThanOrEqual(json.p90_ms);
  });

  it("keeps warming up until --warmup-ms has passed, and reports the invokes it made", async () => {
    const m = fakeModel();
    // Each fake invoke takes >= 1 ms, so 30 ms of warmup needs well over the 2 invokes asked for.
    const invoke = m.invoke.bind(m);
    m.invoke = () => { const t = performance.now(); while (performance.now() - t < 1); invoke(); };
    const r = await benchModel(new Uint8Array(4), {
      name: "x", kernels: "auto", runs: 3, warmup: 2, warmupMs: 30, input: null, load: async () => m,
    });
    expect(r.warmup).toBeGreaterThan(2);
    expect(m.invokes).toBe(1 + r.warmup + 3);
  });

  it("times several loaders' models in alternation, each warmed up and fed its own input", async () => {
    const a = fakeModel(), b = fakeModel();
    const order: string[] = [];
    for (const [m, tag] of [[a, "a"], [b, "b"]] as const) {
      const invoke = m.invoke.bind(m);
      m.invoke = () => { order.push(tag); invoke(); };
    }
    const input = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const [ra, rb] = await benchModels(new Uint8Array(4), {
      name: "x", kernels: "auto", runs: 4, warmup: 2, input, load: async () => a,
    }, [async () => a, async () => b]);
    // first invokes in loader order, then warmup and timed runs alternate a, b, a, b ...
    expect(order.join("")).toBe("ab" + "ab".repeat(2 + 4));
    expect([ra.warmup, rb.warmup, ra.runs, rb.runs]).toEqual([2, 2, 4, 4]);
    for (const m of [a, b]) expect(m.fed.every((f) => f.join() === "1,2,3,4,5,6,7,8")).toBe(true);
  });

  it("feeds deterministic bytes when no input is given", async () => {
    const a = fakeModel();
    const b = fakeModel();
    await benchModel(new Uint8Array(4), { name: "x", kernels: "auto", runs: 1, warmup: 0, input: null, load: async () => a });
    await benchModel(new Uint8Array(4), { name: "x", kernels: "auto", runs: 1, warmup: 0, input: null, load: async () => b });
    expect(a.fed[0]).toEqual(b.fed[0]);
    expect(a.fed[0].some((v) => v !== 0)).toBe(true);
  });
});

describe.skipIf(!SHARED)("qedge bench on a real model (AD, FULLY_CONNECTED only)", () => {
  const ad = () => join(SHARED!, "models", "mlperf-tiny", "ad01_int8.tflite");

  it("--json prints one object with the documented keys and the model's memory", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((s: unknown) => { lines.push(String(s)); });
    let code: number;
    try {
      code = await benchCommand([ad(), "--json", "--runs", "5", "--warmup", "1", "--warmup-ms", "0", "--kernels", "scalar"]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ model: "ad01_int8.tflite", kernels: "scalar", runs: 5, warmup: 1 });
    for (const k of ["median_ms", "p10_ms", "p90_ms", "load_ms", "first_invoke_ms", "arena_bytes", "weight_bytes", "wasm_memory_bytes"]) {
      expect(typeof r[k], k).toBe("number");
      expect(r[k], k).toBeGreaterThan(0);
    }
    // weights hold at least the model's int8 weight matrices: 640*128 + 128*128*3 + 128*8 + 8*128 + 128*640 (+ more)
    expect(r.weight_bytes).toBeGreaterThanOrEqual(640 * 128 * 2 + 128 * 128 * 3 + 8 * 128 * 2);
    expect(r.wasm_memory_bytes % 65536).toBe(0);
    // Default: the component path is measured, then the plain core module beside it.
    expect(r.instantiation).toBe("component");
    expect(r.plain_core_median_ms).toBeGreaterThan(0);
    expect(r.component_overhead_pct).toBeCloseTo((r.median_ms / r.plain_core_median_ms - 1) * 100, 1);
  });

  it("rejects an --input of the wrong size and a missing model with typed errors", async () => {
    const kws = join(SHARED!, "models", "mlperf-tiny", "inputs", "kws01_sample_49x10_int8.bin");
    await expect(benchCommand([ad(), "--input", kws])).rejects.toThrow(/490 bytes.*need 640/);
    await expect(benchCommand(["/nonexistent/model.tflite"])).rejects.toThrow(InvalidArgumentError);
  });
});
