// qedge bench MODEL: load time, first-invoke time, steady-state latency (median / p10 / p90) and
// memory of one model on one kernel build. The pure pieces (argument parsing, statistics, the
// deterministic input, the JSON report) are exported for the peer benchmark in bench/ and tests.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import type { KernelChoice } from "../wasm/kernels.js";

export const BENCH_HELP = `usage: qedge bench MODEL [--input FILE] [--runs N] [--warmup N] [--warmup-ms MS]
                   [--kernels auto|scalar|simd|relaxed] [--no-winograd] [--no-strassen] [--plain-core] [--json]

Loads a .tflite model, times the load and the first invoke, then untimed warmup invokes and
RUNS timed ones, and prints the median / p10 / p90 latency with the model's memory use.

  --input FILE  raw bytes of the graph inputs, concatenated in order (input 0 first);
                default: deterministic pseudo-random bytes (xorshift32, seed ${"0x" + 0x9e3779b9.toString(16)})
  --runs N      timed invokes (default 200)
  --warmup N    at least N untimed invokes before timing (default 20)
  --warmup-ms MS  and keep warming up for at least MS milliseconds (default 250): V8 first runs
                the kernels as baseline code and swaps in optimized code in the background;
                timing before that swap measures the engine's warm-up, not the model
  --kernels     kernel build: auto (default), scalar, simd or relaxed
                (Node 20: relaxed needs node --experimental-wasm-relaxed-simd)
  --no-winograd direct 3x3 stride-1 convolutions (default: Winograd F(2x2, 3x3): bit-identical,
                faster, larger transformed weights; see weights in the report)
  --no-strassen the plain batched FULLY_CONNECTED (default: one level of Strassen for large
                GEMM-shaped layers that split evenly: bit-identical, 7/8 of the multiplies,
                7/4 the weight bytes of those layers)
  --plain-core  measure only the plain core-module instantiation; by default the WASI component
                path (the default runtime path) and the plain core module are both loaded and
                timed in alternation (so machine noise hits both alike), and the component's
                overhead is reported
  --json        print one JSON object on stdout instead of the text report
Steady-state numbers are steadier still with node --no-liftoff (optimized code from the start).`;

export interface BenchArgs {
  model: string;
  input: string | null;
  runs: number;
  warmup: number;
  warmupMs: number;
  kernels: KernelChoice;
  plainCore: boolean;
  json: boolean;
  winograd: boolean;
  strassen: boolean;
}

const KERNEL_CHOICES: readonly string[] = ["auto", "scalar", "simd", "relaxed"];
/** Long enough for V8's background tier-up of the kernels on the slow boards we target. */
export const DEFAULT_WARMUP_MS = 250;

function count(name: string, text: string, min: number): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`--${name} must be a whole number, got '${text}'`);
  const n = Number(text);
  if (n < min) throw new InvalidArgumentError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

/** Parse `qedge bench` arguments; null means --help was asked for. */
export function parseBenchArgs(args: string[]): BenchArgs | null {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        input: { type: "string", short: "i" },
        runs: { type: "string", short: "n" },
        warmup: { type: "string", short: "w" },
        "warmup-ms": { type: "string" },
        kernels: { type: "string", short: "k" },
        json: { type: "boolean" },
        "plain-core": { type: "boolean" },
        "no-winograd": { type: "boolean" },
        "no-strassen": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${BENCH_HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length !== 1) {
    throw new InvalidArgumentError(`expected one MODEL argument, got ${positionals.length}\n${BENCH_HELP}`);
  }
  const kernels = values.kernels ?? "auto";
  if (!KERNEL_CHOICES.includes(kernels)) {
    throw new InvalidArgumentError(`--kernels must be one of ${KERNEL_CHOICES.join(", ")}, got '${kernels}'`);
  }
  return {
    model: positionals[0],
    input: values.input ?? null,
    runs: values.runs === undefined ? 200 : count("runs", values.runs, 1),
    warmup: values.warmup === undefined ? 20 : count("warmup", values.warmup, 0),
    warmupMs: values["warmup-ms"] === undefined ? DEFAULT_WARMUP_MS : count("warmup-ms", values["warmup-ms"], 0),
    kernels: kernels as KernelChoice,
    plainCore: values["plain-core"] ?? false,
    json: values.json ?? false,
    winograd: !(values["no-winograd"] ?? false),
    strassen: !(values["no-strassen"] ?? false),
  };
}

/**
 * Value at quantile q (0..1) of ascending `sorted`, interpolating linearly between the two
 * nearest ranks (position q * (n - 1), the common "linear" definition).
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new InvalidArgumentError("quantile of an empty sample");
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Summary { n: number; median: number; p10: number; p90: number; min: number; max: number; mean: number }

/** Order statistics of a sample (milliseconds in, milliseconds out). */
export function summarize(samples: ArrayLike<number>): Summary {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return {
    n: s.length, median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9),
    min: s[0], max: s[s.length - 1], mean: sum / s.length,
  };
}

export const DEFAULT_SEED = 0x9e3779b9;

/**
 * Deterministic input bytes: xorshift32 (shifts 13, 17, 5), one state step per 4 output bytes,
 * little-endian. Same seed, same bytes, on every machine.
 */
export function deterministicBytes(length: number, seed = DEFAULT_SEED): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    for (let b = 0; b < 4 && i + b < length; b++) out[i + b] = (x >>> (8 * b)) & 0xff;
  }
  return out;
}

/** Random floats in [-1, 1) from the same generator (random bytes could be NaN for float inputs). */
export function deterministicFloats(count: number, seed = DEFAULT_SEED): Float32Array {
  const bytes = deterministicBytes(count * 4, seed);
  const words = new Uint32Array(bytes.buffer);
  return Float32Array.from(words, (w) => w / 2 ** 31 - 1);
}

/** What benchModel needs of a loaded model (the public Model API). */
export interface BenchableModel {
  readonly kernels: string;
  readonly memory: { arenaBytes: number; weightBytes: number; wasmMemoryBytes: number };
  readonly inputs: readonly { byteLength: number; typeName: string; shape: number[] }[];
  input(i: number): ArrayBufferView;
  invoke(): void;
}

/** One JSON object per measurement; these key names are a documented interface (--json). */
export interface BenchReport {
  model: string;
  kernels: string;
  runs: number;
  /** Untimed invokes actually made (at least --warmup, more when --warmup-ms needed them). */
  warmup: number;
  input: string;
  load_ms: number;
  first_invoke_ms: number;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  min_ms: number;
  mean_ms: number;
  arena_bytes: number;
  weight_bytes: number;
  wasm_memory_bytes: number;
}

/** Input bytes for every graph input: the given file split in order, or deterministic data. */
export function inputBytesFor(model: BenchableModel, data: Uint8Array | null): Uint8Array[] {
  const sizes = model.inputs.map((t) => t.byteLength);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (data === null) {
    return model.inputs.map((t, i) => t.typeName === "float32"
      ? new Uint8Array(deterministicFloats(t.byteLength / 4, DEFAULT_SEED + i).buffer)
      : deterministicBytes(t.byteLength, DEFAULT_SEED + i));
  }
  if (data.byteLength !== total) {
    const list = model.inputs.map((t, i) => `input ${i} ${t.typeName} [${t.shape}] = ${t.byteLength} B`).join(", ");
    throw new InvalidArgumentError(`--input holds ${data.byteLength} bytes; the model's inputs need ${total} (${list})`);
  }
  let off = 0;
  return sizes.map((n) => data.subarray(off, (off += n)));
}

function bytesView(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export interface MeasureOptions {
  runs: number;
  /** At least this many untimed invokes per model ... */
  warmup: number;
  /** ... and at least this long in total (default 0). */
  warmupMs?: number;
}

export interface Measured { times: number[]; warmup: number }

/**
 * Time `runs` invokes of each model after untimed warmup, alternating between the models so
 * that whatever the machine does meanwhile (another process, a frequency change) falls on all
 * of them alike. Inputs are rewritten before every invoke, outside the timed region (qedge may
 * reuse input storage for later activations).
 */
export function measureInterleaved(models: BenchableModel[], inputs: Uint8Array[][], opts: MeasureOptions): Measured[] {
  const fills = models.map((m, j) => {
    const views = inputs[j].map((_, i) => bytesView(m.input(i)));
    return () => { for (let i = 0; i < views.length; i++) views[i].set(inputs[j][i]); };
  });
  const start = performance.now();
  let warm = 0;
  while (warm < opts.warmup || performance.now() - start < (opts.warmupMs ?? 0)) {
    for (let j = 0; j < models.length; j++) { fills[j](); models[j].invoke(); }
    warm++;
  }
  const times = models.map(() => new Array<number>(opts.runs));
  for (let i = 0; i < opts.runs; i++) {
    for (let j = 0; j < models.length; j++) {
      fills[j]();
      const t0 = performance.now();
      models[j].invoke();
      times[j][i] = performance.now() - t0;
    }
  }
  return times.map((t) => ({ times: t, warmup: warm }));
}

/** What a bench loader is asked for: the build, and which fast paths are turned off. */
export interface BenchLoadOptions { kernels: KernelChoice; winograd?: boolean; strassen?: boolean }

export interface BenchModelOptions extends MeasureOptions {
  name: string;
  kernels: KernelChoice;
  input: Uint8Array | null;
  inputLabel?: string;
  load: (bytes: Uint8Array, opts: BenchLoadOptions) => Promise<BenchableModel>;
  /** false: direct convolutions only (LoadOptions.winograd). */
  winograd?: boolean;
  /** false: no Strassen FULLY_CONNECTED (LoadOptions.strassen). */
  strassen?: boolean;
}

/** Load, first invoke, then steady state: the whole `qedge bench` measurement. */
export async function benchModel(bytes: Uint8Array, opts: BenchModelOptions): Promise<BenchReport> {
  return (await benchModels(bytes, opts, [opts.load]))[0];
}

/**
 * The same model through several loaders (instantiations), measured side by side: each is
 * loaded and invoked once in turn, then the steady state of all runs interleaved.
 */
export async function benchModels(bytes: Uint8Array, opts: BenchModelOptions, loaders: BenchModelOptions["load"][]): Promise<BenchReport[]> {
  const loaded = [];
  for (const load of loaders) {
    const t0 = performance.now();
    const model = await load(bytes, {
      kernels: opts.kernels,
      ...(opts.winograd === false ? { winograd: false } : {}),
      ...(opts.strassen === false ? { strassen: false } : {}),
    });
    const loadMs = performance.now() - t0;
    const inputs = inputBytesFor(model, opts.input);
    inputs.forEach((d, i) => bytesView(model.input(i)).set(d));
    const t1 = performance.now();
    model.invoke();
    loaded.push({ model, inputs, loadMs, firstMs: performance.now() - t1 });
  }
  const measured = measureInterleaved(loaded.map((l) => l.model), loaded.map((l) => l.inputs), opts);
  // Nanosecond resolution is all performance.now() offers; more digits are noise in the JSON.
  const ns = (v: number) => Math.round(v * 1e6) / 1e6;
  return loaded.map(({ model, loadMs, firstMs }, j) => {
    const s = summarize(measured[j].times);
    return {
      model: opts.name,
      kernels: model.kernels,
      runs: opts.runs,
      warmup: measured[j].warmup,
      input: opts.inputLabel ?? (opts.input ? "file" : `xorshift32:0x${DEFAULT_SEED.toString(16)}`),
      load_ms: ns(loadMs),
      first_invoke_ms: ns(firstMs),
      median_ms: ns(s.median),
      p10_ms: ns(s.p10),
      p90_ms: ns(s.p90),
      min_ms: ns(s.min),
      mean_ms: ns(s.mean),
      arena_bytes: model.memory.arenaBytes,
      weight_bytes: model.memory.weightBytes,
      wasm_memory_bytes: model.memory.wasmMemoryBytes,
    };
  });
}

/** Milliseconds with about four significant digits. */
export function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(3);
  return ms.toPrecision(4);
}

export function formatReport(r: BenchReport): string {
  const kib = (b: number) => `${b.toLocaleString("en-US")} B (${(b / 1024).toFixed(1)} KiB)`;
  return [
    `model         ${r.model}`,
    `kernels       ${r.kernels}`,
    `input         ${r.input}`,
    `load          ${formatMs(r.load_ms)} ms`,
    `first invoke  ${formatMs(r.first_invoke_ms)} ms`,
    `latency       median ${formatMs(r.median_ms)} ms   p10 ${formatMs(r.p10_ms)} ms   p90 ${formatMs(r.p90_ms)} ms` +
      `   (${r.runs} runs after ${r.warmup} warmup)`,
    `arena         ${kib(r.arena_bytes)}`,
    `weights       ${kib(r.weight_bytes)}`,
    `wasm memory   ${kib(r.wasm_memory_bytes)}`,
  ].join("\n");
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function benchCommand(args: string[]): Promise<number> {
  const a = parseBenchArgs(args);
  if (a === null) { console.log(BENCH_HELP); return 0; }
  const { loadModel } = await import("../index.js");
  const bytes = readFile(a.model, "MODEL");
  const common = {
    name: basename(a.model),
    kernels: a.kernels,
    runs: a.runs,
    warmup: a.warmup,
    warmupMs: a.warmupMs,
    input: a.input === null ? null : readFile(a.input, "--input"),
    inputLabel: a.input ?? undefined,
    winograd: a.winograd,
    strassen: a.strassen,
  };
  const core = (b: Uint8Array, o: BenchLoadOptions) => loadModel(b, { ...o, instantiation: "core" });
  if (a.plainCore) {
    const report = { ...(await benchModel(bytes, { ...common, load: core })), instantiation: "core" };
    console.log(a.json ? JSON.stringify(report) : `${formatReport(report)}\ninstantiation plain core module`);
    return 0;
  }
  // The default path (WASI component) and the plain core module, timed in alternation.
  const [comp, plain] = await benchModels(bytes, { ...common, load: loadModel }, [loadModel, core]);
  const overhead = Math.round((comp.median_ms / plain.median_ms - 1) * 10000) / 100;
  const report = {
    ...comp, instantiation: "component",
    plain_core_median_ms: plain.median_ms, plain_core_load_ms: plain.load_ms, component_overhead_pct: overhead,
  };
  console.log(a.json ? JSON.stringify(report) : [
    formatReport(comp),
    `instantiation WASI component; plain core module: median ${formatMs(plain.median_ms)} ms, ` +
      `load ${formatMs(plain.load_ms)} ms; component overhead ${overhead >= 0 ? "+" : ""}${overhead}%`,
  ].join("\n"));
  return 0;
}
