// Training and evaluation loops for classifiers over an in-memory data set.
import { InvalidArgumentError } from "../errors.js";
import type { Sequential } from "./model.js";
import type { Optimizer } from "./optimizers.js";
import { Rng } from "./rng.js";

/** `count` samples of `sampleSize` floats each, with integer class labels. */
export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  count: number;
  sampleSize: number;
}

export interface EpochInfo { epoch: number; loss: number; seconds: number }

export interface FitOptions {
  epochs: number;
  batchSize: number;
  optimizer: Optimizer & { lr: number };
  /** Shuffling seed (the model's initialisation has its own). */
  seed: number;
  /** Learning rate per epoch (0-based); default: the optimizer's constant rate. */
  lrSchedule?: (epoch: number) => number;
  onEpoch?: (info: EpochInfo) => void;
  /** Rewrites one training sample in place (data augmentation); gets the fit's RNG. */
  augment?: (sample: Float32Array, rng: Rng) => void;
}

function checkDataset(model: Sequential, data: Dataset): void {
  if (data.sampleSize !== model.inputSize) {
    throw new InvalidArgumentError(`samples have ${data.sampleSize} values, the model takes ${model.inputSize}`);
  }
  if (data.x.length < data.count * data.sampleSize || data.y.length < data.count) {
    throw new InvalidArgumentError(`data set arrays are shorter than ${data.count} samples`);
  }
}

/** Copy the samples `idx[from..from+n)` into the model's input buffer (and their labels out). */
function loadBatch(
  model: Sequential, data: Dataset, idx: ArrayLike<number>, from: number, n: number, labels: Int32Array,
  augment?: (sample: Float32Array) => void,
): void {
  const S = data.sampleSize;
  const view = model.kernels.f32(model.acts[0], n * S);
  for (let j = 0; j < n; j++) {
    const i = idx[from + j];
    view.set(data.x.subarray(i * S, i * S + S), j * S);
    if (augment) augment(view.subarray(j * S, j * S + S));
    labels[j] = data.y[i];
  }
}

/** Minibatch training with softmax cross-entropy; returns the mean loss of each epoch. */
export function fitClassifier(model: Sequential, data: Dataset, opts: FitOptions): EpochInfo[] {
  checkDataset(model, data);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw new InvalidArgumentError(`epochs must be an integer >= 0, got ${opts.epochs}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0 || opts.batchSize > model.maxBatch) {
    throw new InvalidArgumentError(`batchSize must be in 1..${model.maxBatch}, got ${opts.batchSize}`);
  }
  const rng = new Rng(opts.seed);
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const labels = new Int32Array(opts.batchSize);
  const history: EpochInfo[] = [];
  const aug = opts.augment;
  const augment = aug ? (sample: Float32Array) => aug(sample, rng) : undefined;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const t0 = performance.now();
    if (opts.lrSchedule) opts.optimizer.lr = opts.lrSchedule(epoch);
    rng.shuffle(order);
    let lossSum = 0, seen = 0;
    for (let from = 0; from < data.count; from += opts.batchSize) {
      const n = Math.min(opts.batchSize, data.count - from);
      loadBatch(model, data, order, from, n, labels, augment);
      model.forward(n);
      lossSum += model.softmaxCrossEntropy(labels, n) * n;
      seen += n;
      model.zeroGrad();
      model.backward(n);
      opts.optimizer.step();
    }
    const info = { epoch, loss: lossSum / Math.max(seen, 1), seconds: (performance.now() - t0) / 1000 };
    history.push(info);
    opts.onEpoch?.(info);
  }
  return history;
}

/** Index of the first maximum of v[from..from+k). */
export function argmax(v: ArrayLike<number>, from = 0, k = v.length - from): number {
  let best = 0;
  for (let i = 1; i < k; i++) if (v[from + i] > v[from + best]) best = i;
  return best;
}

/** Class predictions (argmax of the outputs) for every sample, and the accuracy. */
export function evaluateClassifier(model: Sequential, data: Dataset): { accuracy: number; predictions: Int32Array } {
  checkDataset(model, data);
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const labels = new Int32Array(model.maxBatch);
  const predictions = new Int32Array(data.count);
  const k = model.outputSize;
  let correct = 0;
  for (let from = 0; from < data.count; from += model.maxBatch) {
    const n = Math.min(model.maxBatch, data.count - from);
    loadBatch(model, data, order, from, n, labels);
    const out = model.forward(n);
    for (let j = 0; j < n; j++) {
      const p = argmax(out, j * k, k);
      predictions[from + j] = p;
      if (p === labels[j]) correct++;
    }
  }
  return { accuracy: data.count ? correct / data.count : 0, predictions };
}
