// Fine-tuning demonstrations on real data (`npm run demo:finetune`). Each returns one flat record:
// the held-out metric before and after, the extra memory training actually used, and the time.
// Every figure is measured: "before" on the model as deployed, "after" on the committed int8
// model, both through qedge's runtime, on samples used neither for training nor for the commit
// check.
//   mnist-rotated   qedge's zoo MNIST CNN, digits rotated 90 degrees (never seen in training):
//                   the head (dense 64 -> 10) re-learned from 80 rotated digits (+20 for the check).
//   ad-toycar       MLPerf Tiny's anomaly-detection autoencoder adapted to one ToyCar recording:
//                   biases trained on its first windows, reconstruction error on later ones.
//   kws-head        MLPerf Tiny's keyword-spotting DS-CNN: the classifier head (FC 64 -> 12)
//                   taught new labels for a few inputs, inside a 256 KiB extra-memory budget.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MemoryBudgetError } from "../errors.js";
import { parseModel } from "../model/reader.js";
import { createModel, type Model } from "../runtime/model.js";
import { findShared } from "../cli/start.js";
import { zooCacheDir } from "../cli/zoo.js";
import { MNIST_SIZE } from "./mnist.js";
import { Rng } from "./rng.js";
import type { TrainableSpec } from "./section.js";
import type { TrainData, Trainer, TrainerOptions } from "./trainer.js";
import { buildMnistModel, mnistTestSet, MNIST_DEFAULTS, MNIST_RECIPE_VERSION } from "./zoo-mnist.js";

export interface DemoResult {
  name: string;
  metric: string;
  higher_is_better: boolean;
  before: number;
  after: number;
  /** Extra memory actually used by training (training module heap + host buffers + feature cache). */
  extra_memory_bytes: number;
  planned_memory_bytes: number;
  /** The training module's linear memory in whole 64 KiB pages. */
  training_wasm_bytes: number;
  budget_bytes: number | null;
  /** Fine-tuning time: feature extraction, training, requantization and the commit check. */
  seconds: number;
  committed: boolean;
  trainable: string[];
  train_samples: number;
  check_samples: number;
  test_samples: number;
  epochs: number;
  [extra: string]: unknown;
}

export interface DemoSkipped { name: string; skipped: string }

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/** Train, commit against the check set, and measure before / after on the test set. */
function fineTune(name: string, model: Model, opts: TrainerOptions & { epochs: number; batchSize?: number },
  train: TrainData, check: TrainData, test: TrainData): { result: DemoResult; trainer: Trainer } {
  const trainer = model.trainer({ ...opts, validation: check });
  const before = trainer.evaluate(test, { on: "deployed" }).value;
  const t0 = performance.now();
  trainer.fit(train, { epochs: opts.epochs, batchSize: opts.batchSize, validation: null });
  const c = trainer.commit();
  const seconds = (performance.now() - t0) / 1000;
  const after = trainer.evaluate(test, { on: "deployed" }).value;
  const mem = trainer.memoryReport();
  return {
    trainer,
    result: {
      name, metric: c.metric, higher_is_better: c.higherIsBetter, before: round(before), after: round(after),
      extra_memory_bytes: mem.used.totalBytes, planned_memory_bytes: mem.planned.totalBytes,
      training_wasm_bytes: mem.used.trainingWasmBytes, budget_bytes: mem.budgetBytes,
      seconds: round(seconds, 3), committed: c.committed,
      trainable: trainer.parameters.filter((p) => p.trainable).map((p) => p.name),
      train_samples: train.inputs.length, check_samples: check.inputs.length, test_samples: test.inputs.length,
      epochs: trainer.epochs,
    },
  };
}

// ------------------------------------------------------------------ MNIST under rotation

/** The zoo MNIST model (seed 1): from the zoo cache, else built (about 30 s) and cached. */
export function zooMnistBytes(epochs: number = MNIST_DEFAULTS.epochs): Uint8Array {
  const stem = epochs === MNIST_DEFAULTS.epochs ? "mnist-1" : `mnist-1-e${epochs}`;
  const file = join(zooCacheDir(), `${stem}.tflite`), report = join(zooCacheDir(), `${stem}.json`);
  if (existsSync(file) && existsSync(report)) {
    try {
      const r = JSON.parse(readFileSync(report, "utf8"));
      if (r.recipe === MNIST_RECIPE_VERSION && r.seed === 1 && r.epochs === epochs) return new Uint8Array(readFileSync(file));
    } catch { /* rebuild */ }
  }
  const built = buildMnistModel({ seed: 1, epochs });
  try {
    mkdirSync(zooCacheDir(), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, built.tflite);
    renameSync(tmp, file);
    writeFileSync(report, JSON.stringify({
      recipe: MNIST_RECIPE_VERSION, seed: 1, epochs, float_accuracy: built.floatAccuracy, int8_accuracy: built.int8Accuracy,
      agreement: built.agreement, train_seconds: built.trainSeconds, train_count: built.trainCount, test_count: built.testCount,
      calibration_count: built.calibrationCount, train_kernels: built.trainBuild, param_count: built.paramCount,
    }, null, 2) + "\n");
  } catch { /* a read-only cache only costs a rebuild next time */ }
  return built.tflite;
}

/** A digit turned 90 degrees clockwise, as the int8 model input (pixel k/255 -> k - 128). */
function rotated90(pixels: Float32Array): Int8Array {
  const S = MNIST_SIZE, out = new Int8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[y * S + x] = Math.round(pixels[(S - 1 - x) * S + y] * 255) - 128;
  return out;
}

export interface MnistDemoOptions { baseEpochs?: number; epochs?: number; lr?: number }

export function demoMnistRotated(opts: MnistDemoOptions = {}): DemoResult {
  const base = zooMnistBytes(opts.baseEpochs);
  // The base model's held-out split: digits it never saw, rotated, which it never saw either.
  const held = mnistTestSet(1);
  const slice = (from: number, n: number, rotate: boolean): TrainData => {
    const inputs: Int8Array[] = [], labels: number[] = [];
    for (let i = from; i < from + n; i++) {
      const px = held.x.subarray(i * 784, (i + 1) * 784);
      inputs.push(rotate ? rotated90(px) : Int8Array.from(px, (v) => Math.round(v * 255) - 128));
      labels.push(held.y[i]);
    }
    return { inputs, labels };
  };
  const train = slice(0, 80, true), check = slice(80, 20, true), test = slice(1000, 1000, true);
  const upright = slice(1000, 1000, false);
  const model = createModel(parseModel(base));
  const uprightBefore = model.trainer({ trainable: "head" }).evaluate(upright, { on: "deployed" }).value;
  const { result, trainer } = fineTune("mnist-rotated", model,
    { trainable: "head", lr: opts.lr ?? 1e-2, epochs: opts.epochs ?? 40, batchSize: 16, memoryBudgetBytes: 256 * 1024 }, train, check, test);
  return {
    ...result,
    shift: "rotated 90 degrees clockwise (the base model was trained on upright digits only)",
    base_model: `qedge zoo mnist (seed 1, ${opts.baseEpochs ?? MNIST_DEFAULTS.epochs} epochs)`,
    recovered_points: round((result.after - result.before) * 100, 2),
    // the price of re-learning the head for rotated digits: accuracy on upright ones
    upright_before: round(uprightBefore), upright_after: round(trainer.evaluate(upright, { on: "deployed" }).value),
  };
}

// ------------------------------------------------------------------ MLPerf Tiny AD on ToyCar

const AD_MODEL = ["models", "mlperf-tiny", "ad01_int8.tflite"];
const AD_WINDOWS = ["models", "mlperf-tiny", "inputs", "ad01_normal_id_01_00000000_windows_196x640_int8.bin"];

export function demoAnomalyToyCar(opts: { epochs?: number; lr?: number; trainable?: TrainableSpec } = {}): DemoResult | DemoSkipped {
  const shared = findShared();
  const name = "ad-toycar";
  if (!shared) return { name, skipped: "../shared (or $QEDGE_SHARED) is absent" };
  const model = createModel(parseModel(new Uint8Array(readFileSync(join(shared, ...AD_MODEL)))));
  const all = new Uint8Array(readFileSync(join(shared, ...AD_WINDOWS)));
  const windows = Array.from({ length: all.length / 640 }, (_, i) => new Int8Array(all.buffer, all.byteOffset + i * 640, 640));
  // Window i covers frames i..i+4 (stride 128 of 640 values = 1 frame of 128 mel bins): gaps of 4
  // windows keep the three sets free of shared frames.
  const train = { inputs: windows.slice(0, 80) }, check = { inputs: windows.slice(84, 100) }, test = { inputs: windows.slice(104) };
  const { result } = fineTune(name, model, { trainable: opts.trainable ?? "bias", lr: opts.lr ?? 3e-3, epochs: opts.epochs ?? 40, batchSize: 16 },
    train, check, test);
  return {
    ...result,
    data: "196 windows (640 int8 values) of one ToyCar normal recording: train 0-79, check 84-99, test 104-195 (no shared frames)",
    relative_change: round((result.after - result.before) / result.before, 4),
  };
}

// ------------------------------------------------------------------ MLPerf Tiny KWS head

const KWS_MODEL = ["models", "mlperf-tiny", "kws_ref_model.tflite"];
const KWS_INPUTS = ["kws01_sample_49x10_int8.bin", "kws_synthetic_random0_int8.bin", "kws_synthetic_random1_int8.bin"];
export const KWS_LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"];

export function demoKwsHead(opts: { epochs?: number; lr?: number; budgetBytes?: number } = {}): DemoResult | DemoSkipped {
  const shared = findShared();
  const name = "kws-head";
  if (!shared) return { name, skipped: "../shared (or $QEDGE_SHARED) is absent" };
  const budget = opts.budgetBytes ?? 256 * 1024;
  const bytes = new Uint8Array(readFileSync(join(shared, ...KWS_MODEL)));
  const model = createModel(parseModel(bytes));
  // The shipped sample (the model says "on") and two random inputs (it says "yes"): relabel the
  // random ones "unknown", keep "on", and learn it from noisy variants (each MFCC byte +-6).
  const classes = [KWS_LABELS.indexOf("on"), KWS_LABELS.indexOf("unknown"), KWS_LABELS.indexOf("unknown")];
  const bases = KWS_INPUTS.map((f) => new Int8Array(readFileSync(join(shared, "models", "mlperf-tiny", "inputs", f))));
  const rng = new Rng(7);
  const variants = (k: number, n: number) => Array.from({ length: n }, () => Int8Array.from(bases[k], (v) => Math.max(-128, Math.min(127, v + rng.int(13) - 6))));
  const make = (n: number): TrainData => {
    const inputs: Int8Array[] = [], labels: number[] = [];
    bases.forEach((_, k) => { for (const x of variants(k, n)) { inputs.push(x); labels.push(classes[k]); } });
    return { inputs, labels };
  };
  const train = make(8), check = make(4), test = make(8);
  const { result } = fineTune(name, model, { trainable: "head", lr: opts.lr ?? 1e-2, epochs: opts.epochs ?? 30, batchSize: 8, memoryBudgetBytes: budget },
    train, check, test);
  // For scale: what training the last two layers (the 1x1 conv too) would need at the same batch size.
  let lastTwo: number | string;
  try {
    lastTwo = createModel(parseModel(bytes)).trainer({ trainable: { last: 2 }, batchSize: 8, memoryBudgetBytes: budget }).memoryReport().planned.totalBytes;
  } catch (e) {
    if (!(e instanceof MemoryBudgetError)) throw e;
    lastTwo = e.neededBytes;
  }
  return {
    ...result,
    task: "relabel: shipped sample -> 'on', the two random inputs -> 'unknown' (was 'yes'); noisy variants (+-6 per byte)",
    within_budget: result.extra_memory_bytes <= budget,
    last_two_layers_needed_bytes: lastTwo,
  };
}

export const DEMOS = {
  mnist: () => demoMnistRotated(),
  ad: () => demoAnomalyToyCar(),
  kws: () => demoKwsHead(),
} as const;
