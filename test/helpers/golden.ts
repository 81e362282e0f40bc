// The TFLite Micro golden cases in ../shared (model, input, golden output; batch rows).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SHARED } from "./shared.js";

export interface GoldenCase {
  name: string;
  suite: string;
  modelPath: string;
  inputPath: string;
  goldenPath: string;
  batch: number;
}

export const GOLDEN_SUITES = ["mlperf-tiny", "extra"];

export function goldenCases(): GoldenCase[] {
  if (!SHARED) return [];
  const out: GoldenCase[] = [];
  for (const suite of GOLDEN_SUITES) {
    const dir = join(SHARED, "models", suite);
    const file = join(dir, "golden-tflm", "cases.json");
    if (!existsSync(file)) continue;
    const j = JSON.parse(readFileSync(file, "utf8"));
    for (const c of j.cases) {
      out.push({
        name: `${suite}/${c.golden_output.replace(/^golden-tflm\//, "").replace(/\.out\.bin$/, "")}`,
        suite,
        modelPath: join(dir, c.model),
        inputPath: join(dir, c.input),
        goldenPath: join(dir, c.golden_output),
        batch: c.batch ?? 1,
      });
    }
  }
  return out;
}

export interface LayerDump {
  caseName: string;
  modelPath: string;
  inputPath: string;
  layers: { opIndex: number; op: string; outputTensor: number; file: string }[];
}

export function layerDumps(): LayerDump[] {
  if (!SHARED) return [];
  const base = join(SHARED, "models", "mlperf-tiny");
  const ldir = join(base, "golden-tflm", "layers");
  if (!existsSync(ldir)) return [];
  const cases = ["kws01_sample", "vww01_person_gray2rgb", "ic_person_downscaled", "ad01_win000"];
  return cases.filter((c) => existsSync(join(ldir, c, "manifest.json"))).map((c) => {
    const m = JSON.parse(readFileSync(join(ldir, c, "manifest.json"), "utf8"));
    return {
      caseName: c,
      modelPath: join(base, m.model),
      // e.g. "inputs/ad01_..._196x640_int8.bin (row 0, bytes 0..639)": the file, first row.
      inputPath: join(base, String(m.input).replace(/\s*\(.*\)\s*$/, "")),
      layers: m.layers.map((l: any) => ({ opIndex: l.op_index, op: l.op, outputTensor: l.output_tensor, file: join(ldir, c, l.file) })),
    };
  });
}

/** Describe the first differing byte, or null if equal. */
export function firstDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  let count = 0, first = -1, maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      if (first < 0) first = i;
      count++;
      maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    }
  }
  return first < 0 ? null
    : `${count} of ${actual.length} bytes differ (first at ${first}: got ${actual[first]}, want ${expected[first]}; max |diff| ${maxAbs})`;
}

/** Loaded-model surface the golden runner needs (the library's Model, either instantiation). */
export interface GoldenRunnable {
  input(i: number): ArrayBufferView;
  output(i: number): ArrayBufferView;
  reset(): void;
  invoke(): void;
}

/** Run every row of a golden case from a fresh state; returns one message per differing row. */
export function runGoldenCase(m: GoldenRunnable, c: GoldenCase): string[] {
  const input = new Int8Array(readFileSync(c.inputPath));
  const golden = new Int8Array(readFileSync(c.goldenPath));
  const inView = m.input(0), outView = m.output(0);
  const inN = inView.byteLength, outN = outView.byteLength;
  if (input.byteLength !== inN * c.batch) return [`input file holds ${input.byteLength} bytes, expected ${c.batch} x ${inN}`];
  if (golden.byteLength !== outN * c.batch) return [`golden file holds ${golden.byteLength} bytes, expected ${c.batch} x ${outN}`];
  const bad: string[] = [];
  for (let r = 0; r < c.batch; r++) {
    m.reset();
    new Int8Array(inView.buffer, inView.byteOffset, inN).set(input.subarray(r * inN, (r + 1) * inN));
    m.invoke();
    const d = firstDiff(new Int8Array(outView.buffer, outView.byteOffset, outN), golden.subarray(r * outN, (r + 1) * outN));
    if (d) bad.push(`row ${r}: ${d}`);
  }
  return bad;
}
