// `npm start` / `qedge start`: the main job on embedded defaults. Starts the embedded MQTT
// broker, boots a simulated fleet of mixed boards running the real device agent and kernels,
// rolls out qedge's own MNIST model (and the MLPerf Tiny models when ../shared is present) as
// signed deployments in canary waves, runs inference on every board and prints a table.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { quantize } from "../runtime/quantize-api.js";
import { ensureMnistModel } from "./zoo.js";

const HELP = `usage: qedge start [--devices N] [--no-shared] [--serve] [--json]

The main job on embedded defaults, all on this machine:
  1. starts the embedded MQTT broker (aedes) with per-device credentials and topic ACLs;
  2. boots N simulated boards (default 24) of mixed profiles (rpi4, rpi-zero2, visionfive2, ...),
     each running the real device agent with its own flash directory and kernel build;
  3. builds qedge's own int8 MNIST model (trained here on first use, then cached; see
     qedge zoo mnist) and, when ../shared/models/mlperf-tiny is present (or $QEDGE_SHARED),
     the MLPerf Tiny models;
  4. rolls each model out as an Ed25519-signed deployment in canary waves (A/B slots,
     health check, commit), runs inference on every board, and prints a table
     (board, model, latency, status). Then it exits, or with --serve keeps the broker on
     mqtt://127.0.0.1:1883 and the boards running for \`qedge fleet ...\` until Ctrl-C.

  --devices N   number of simulated boards (default 24)
  --no-shared   roll out only qedge's own model even if ../shared is present
  --serve       keep running after the report
  --json        print the final report as one JSON object (progress goes to stderr)
Exit status: 0 when every rollout succeeded and every board answered.`;

/** ../shared next to the package (or $QEDGE_SHARED), if it holds models. */
export function findShared(): string | null {
  if (process.env.QEDGE_SHARED) return existsSync(join(process.env.QEDGE_SHARED, "models")) ? process.env.QEDGE_SHARED : null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, "package.json")); i++) dir = dirname(dir);
  const cand = resolve(dir, "..", "shared");
  return existsSync(join(cand, "models")) ? cand : null;
}

const MLPERF: { id: string; file: string; input: string }[] = [
  { id: "kws", file: "kws_ref_model.tflite", input: "kws01_sample_49x10_int8.bin" },
  { id: "vww", file: "vww_96_int8.tflite", input: "vww_person_96x96x3_int8.bin" },
  { id: "ic", file: "pretrainedResnet_quant.tflite", input: "ic_person_32x32x3_int8.bin" },
  { id: "ad", file: "ad01_int8.tflite", input: "ad01_normal_id_01_00000000_windows_196x640_int8.bin" },
];

export async function startCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: {
      devices: { type: "string" }, "no-shared": { type: "boolean" }, serve: { type: "boolean" },
      json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${HELP}`);
  }
  const { values } = parsed;
  if (values.help) { console.log(HELP); return 0; }
  const devices = values.devices === undefined ? 24 : Number(values.devices);
  if (!Number.isInteger(devices) || devices < 1 || devices > 5000) {
    throw new InvalidArgumentError(`--devices must be a whole number from 1 to 5000, got '${values.devices}'`);
  }
  const log = (l: string) => (values.json ? console.error(l) : console.log(l));

  // qedge's own model, and one held-out digit as its inference input.
  const mnist = ensureMnistModel({ log });
  log(`qedge MNIST example: ${mnist.tflite.byteLength} bytes, int8 held-out accuracy ${(mnist.int8Accuracy * 100).toFixed(2)}%` +
    `${mnist.cached ? " (cached)" : ""}`);
  const { mnistTestSet, MNIST_INPUT_QUANT } = await import("../train/zoo-mnist.js");
  const digits = mnistTestSet(1, 1);
  const digit = quantize(digits.x.subarray(0, digits.sampleSize), MNIST_INPUT_QUANT.scale, MNIST_INPUT_QUANT.zeroPoint);
  const models: { id: string; bytes: Uint8Array; input?: Uint8Array }[] = [
    { id: "qedge-mnist", bytes: mnist.tflite, input: new Uint8Array(digit.buffer) },
  ];
  const shared = values["no-shared"] ? null : findShared();
  if (shared) {
    const dir = join(shared, "models", "mlperf-tiny");
    for (const m of MLPERF) {
      if (!existsSync(join(dir, m.file))) continue;
      const bytes = new Uint8Array(readFileSync(join(dir, m.file)));
      const { parseModel } = await import("../model/reader.js");
      const g = parseModel(bytes);
      const inBytes = g.tensors[g.inputs[0]].byteLength;
      const input = new Uint8Array(readFileSync(join(dir, "inputs", m.input))).subarray(0, inBytes);
      models.push({ id: m.id, bytes, input });
    }
    log(`../shared found: also rolling out ${models.length - 1} MLPerf Tiny models`);
  } else {
    log("no ../shared models (or --no-shared): rolling out qedge's own model only");
  }

  const { runFleetDemo } = await import("../fleet/demo.js");
  const report = await runFleetDemo({ devices, models, serve: values.serve, json: values.json, log });
  if (values.json) console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}
