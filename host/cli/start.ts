// `npm start` / `qedge start`: the main job on embedded defaults.
// Today: run the MLPerf Tiny reference models on their sample inputs (from ../shared, or
// $QEDGE_SHARED) and show a table. The fleet rollout demo plugs in here once it lands.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadModel } from "../index.js";

const HELP = `usage: qedge start [--json] [--kernels auto|scalar|simd|relaxed]

Runs qedge's main job on embedded defaults: loads the MLPerf Tiny int8 models from
../shared/models/mlperf-tiny (or $QEDGE_SHARED/models/mlperf-tiny), runs each on its sample
input, and prints the prediction, latency and memory of each.`;

const SAMPLES: { model: string; input: string; labels?: string[] }[] = [
  { model: "kws_ref_model.tflite", input: "kws01_sample_49x10_int8.bin",
    labels: ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"] },
  { model: "vww_96_int8.tflite", input: "vww_person_96x96x3_int8.bin", labels: ["no person", "person"] },
  { model: "pretrainedResnet_quant.tflite", input: "ic_person_32x32x3_int8.bin",
    labels: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"] },
  { model: "ad01_int8.tflite", input: "ad01_normal_id_01_00000000_windows_196x640_int8.bin" },
];

export function findShared(): string | null {
  if (process.env.QEDGE_SHARED) return process.env.QEDGE_SHARED;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) break;
    dir = dirname(dir);
  }
  const cand = resolve(dir, "..", "shared");
  return existsSync(join(cand, "models")) ? cand : null;
}

export async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: {
    json: { type: "boolean" }, kernels: { type: "string", default: "auto" }, help: { type: "boolean", short: "h" } } });
  if (values.help) { console.log(HELP); return 0; }
  const shared = findShared();
  if (!shared) {
    console.log("qedge start: no ../shared/models found (set QEDGE_SHARED to a folder holding models/mlperf-tiny).\n" +
      "Run any int8 .tflite model with:  npx qedge run MODEL --input INPUT.bin --output OUT.bin");
    return 0;
  }
  const dir = join(shared, "models", "mlperf-tiny");
  const rows: Record<string, unknown>[] = [];
  for (const s of SAMPLES) {
    const bytes = new Uint8Array(readFileSync(join(dir, s.model)));
    const t0 = performance.now();
    const m = await loadModel(bytes, { kernels: values.kernels as never });
    const loadMs = performance.now() - t0;
    const input = readFileSync(join(dir, "inputs", s.input));
    const inView = m.input(0);
    inView.set(new Int8Array(input.buffer, input.byteOffset, inView.length) as never);
    const times: number[] = [];
    for (let r = 0; r < 21; r++) { const a = performance.now(); m.invoke(); times.push(performance.now() - a); }
    times.sort((a, b) => a - b);
    const out = Array.from(m.output(0) as Int8Array);
    let result: string;
    if (s.labels) {
      const best = out.indexOf(Math.max(...out));
      result = `${s.labels[best]} (${((out[best] + 128) / 256).toFixed(2)})`;
    } else {
      // Anomaly score: mean squared reconstruction error in real units.
      const q = m.outputs[0], qi = m.inputs[0];
      let se = 0;
      for (let i = 0; i < out.length; i++) {
        const x = qi.scale! * ((inView as Int8Array)[i] - qi.zeroPoint!);
        const y = q.scale! * (out[i] - q.zeroPoint!);
        se += (x - y) ** 2;
      }
      result = `anomaly score ${(se / out.length).toFixed(3)}`;
    }
    rows.push({ model: s.model, kernels: m.kernels, result, median_ms: +times[10].toFixed(3),
      load_ms: +loadMs.toFixed(1), arena_bytes: m.memory.arenaBytes, weight_bytes: m.memory.weightBytes });
  }
  if (values.json) { console.log(JSON.stringify(rows)); return 0; }
  console.table(rows);
  return 0;
}
