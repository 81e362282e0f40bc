// Fine-tuning a loaded int8 model in place: model.trainer(opts) (or createTrainer(model, opts)).
//
// The layers before the first trainable tensor are frozen and keep running in int8 on the
// deployed model (the real kernels); their output at the boundary is read from the runtime,
// dequantized, and fed to an f32 copy of the rest of the graph (the "section", see section.ts)
// built with the training kernels. Only the section keeps f32 shadow weights. Every buffer is
// planned before anything is allocated (memory.ts), so a run over memoryBudgetBytes fails with
// MemoryBudgetError up front. export() requantizes the trained tensors into a copy of the
// original graph (requantize.ts); commit() swaps that into the running model only if a held-out
// metric did not get worse (or when forced); restore() brings back the original weights exactly.
import { createHash } from "node:crypto";
import { InvalidArgumentError, MemoryBudgetError, UnsupportedModelError } from "../errors.js";
import { parseModel } from "../model/reader.js";
import type { ModelGraph, Tensor } from "../model/types.js";
import { writeModel } from "../model/writer.js";
import { createModel, type Model } from "../runtime/model.js";
import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.js";
import { TrainKernels, type TrainBuild } from "./kernels.js";
import { describePlan, planMemory, type MemoryPlan } from "./memory.js";
import { Sequential } from "./model.js";
import { Adam, Sgd, type Optimizer } from "./optimizers.js";
import {
  dequantizeBias, dequantizeWeights, graphToDesc, requantizeBias, requantizeWeights, tensorUpdate, type TensorUpdate,
} from "./requantize.js";
import { Rng } from "./rng.js";
import { planSection, sectionOutputTensor, type Section, type SectionParam, type TrainableSpec } from "./section.js";

/** Samples for training or evaluation: one raw int8 input tensor per sample. */
export interface TrainData {
  /** Each the raw bytes of input tensor 0 (int8), e.g. a row of a .bin file. */
  inputs: ArrayLike<Int8Array | Uint8Array>;
  /** Class labels, for classifiers. */
  labels?: ArrayLike<number>;
  /**
   * Real-valued targets (one array of output size per sample), for regression. Without them a
   * mean-squared-error trainer whose output has the input's size reconstructs its input
   * (autoencoders): the target is the dequantized input.
   */
  targets?: ArrayLike<ArrayLike<number>>;
}

/** What a custom loss sees: the batch's section outputs and, to fill, d loss / d outputs. */
export interface LossBatch {
  n: number;
  labels: Int32Array | null;
  targets: Float32Array | null;
}
/**
 * Returns the batch's mean loss and writes its gradient with respect to `outputs` into `grad`.
 * `outputs` are the section's f32 outputs: logits (before SOFTMAX) for classifiers.
 */
export type CustomLoss = (outputs: Float32Array, batch: LossBatch, grad: Float32Array) => number;

/** A held-out measure: the mean over samples of `sample`. */
export interface Metric {
  name: string;
  higherIsBetter: boolean;
  /** Score of one sample; `output` holds the model's output in real values (after SOFTMAX for classifiers). */
  sample(output: Float32Array, index: number, data: TrainData): number;
}

export interface StepInfo { step: number; epoch: number; loss: number; batchSize: number }
export interface Evaluation { metric: string; value: number; higherIsBetter: boolean; count: number; on: EvaluateOn }
export interface EpochInfo { epoch: number; loss: number; seconds: number; steps: number; validation?: Evaluation }
export interface StopInfo { phase: "step" | "epoch"; step: number; epoch: number; loss: number; validation?: Evaluation }

export interface TrainerOptions {
  /** What to train (default "head"): the last layer with weights, all biases, the last k layers, or names (op<i>, op<i>.weight, op<i>.bias, tensor names). */
  trainable?: TrainableSpec;
  /** Default "adam". */
  optimizer?: "adam" | "sgd";
  /** Learning rate (default 1e-3 for Adam, 1e-2 for SGD). */
  lr?: number;
  /** SGD momentum (default 0) and weight decay (default 0). */
  momentum?: number;
  weightDecay?: number;
  /** Largest batch (default 16); buffers are sized for it. */
  batchSize?: number;
  /** Refuse (MemoryBudgetError) any plan needing more extra memory than this. */
  memoryBudgetBytes?: number;
  /** Default: cross-entropy when the model ends with SOFTMAX, else mean squared error. */
  loss?: "crossEntropy" | "mse" | CustomLoss;
  /** Default: accuracy for classifiers, mean squared reconstruction error otherwise. */
  metric?: Metric;
  /** Held-out data used by commit() (and by fit() for per-epoch figures unless it gets its own). */
  validation?: TrainData;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (info: EpochInfo) => void;
  /** Asked after every step and every epoch of fit(); true stops training. */
  shouldStop?: (info: StopInfo) => boolean;
  /** Training kernel build (default auto: SIMD if the engine has it). */
  trainBuild?: TrainBuild | "auto";
}

export interface FitOptions {
  epochs: number;
  /** Default: the trainer's batchSize. */
  batchSize?: number;
  /** Shuffling seed (default 1). */
  seed?: number;
  /** Evaluated (f32 shadow weights) after every epoch; default: the trainer's validation data. */
  validation?: TrainData | null;
  /** Cache the frozen prefix's int8 output per sample: "auto" (default) when it fits the budget. */
  cacheFeatures?: boolean | "auto";
}

export interface FitResult {
  epochs: EpochInfo[];
  steps: number;
  stopped: boolean;
  seconds: number;
  featuresCached: boolean;
}

export type EvaluateOn = "trained" | "deployed" | "float";

export interface CommitOptions {
  /** Held-out data to compare before / after on (default: the trainer's validation data). */
  validation?: TrainData;
  /** Commit even if the metric got worse or there is no held-out data. */
  force?: boolean;
}

export interface CommitResult {
  committed: boolean;
  forced: boolean;
  metric: string;
  higherIsBetter: boolean;
  /** Held-out metric of the model running before the commit (NaN without held-out data). */
  before: number;
  /** Held-out metric of the requantized fine-tuned model. */
  after: number;
  reason: string;
  /** Linear memory of the candidate int8 model built for the check (transient, freed after a refused commit). */
  candidateBytes: number;
}

export interface ParameterInfo {
  name: string;
  shape: number[];
  trainable: boolean;
  /** Graph tensor name ("" for an operator without a bias tensor). */
  tensor: string;
}

export interface TrainerMemoryReport {
  budgetBytes: number | null;
  /** Plan of the largest run so far (with its feature cache). */
  planned: MemoryPlan;
  /** What was actually allocated. */
  used: {
    /** Bytes handed out in the training module's linear memory (static data included). */
    trainingHeapBytes: number;
    /** The training module's linear memory, whole 64 KiB pages. */
    trainingWasmBytes: number;
    hostBytes: number;
    /** Largest feature cache held. */
    featureCacheBytes: number;
    /** trainingHeapBytes + hostBytes + featureCacheBytes. */
    totalBytes: number;
  };
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Fraction of samples whose highest output is the label. */
export const accuracyMetric: Metric = {
  name: "accuracy",
  higherIsBetter: true,
  sample(output, i, data) {
    if (!data.labels) throw new InvalidArgumentError("accuracy needs labels");
    return argmax(output) === data.labels[i] ? 1 : 0;
  },
};

function checkBatchSize(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1 || v > 65536) throw new InvalidArgumentError(`${what} must be an integer in 1..65536, got ${v}`);
  return v;
}

/** Adapter to read any raw sample as int8. */
function asInt8(a: Int8Array | Uint8Array): Int8Array {
  return a instanceof Int8Array ? a : new Int8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class Trainer {
  readonly model: Model;
  readonly section: Section;
  readonly parameters: readonly ParameterInfo[];
  readonly loss: "crossEntropy" | "mse" | "custom";
  readonly metric: Metric;
  readonly budgetBytes: number | null;
  /** Steps and epochs trained since creation (or as restored). */
  steps = 0;
  epochs = 0;

  private readonly opts: TrainerOptions;
  private readonly original: ModelGraph;
  private readonly seq: Sequential;
  private readonly optimizer: Optimizer;
  private readonly basePlan: MemoryPlan;
  private plan: MemoryPlan;
  private readonly byName: Map<string, SectionParam>;
  private readonly trainableParams: SectionParam[];
  private readonly featureSize: number;
  private readonly outputSize: number;
  private readonly boundaryQ: { scale: number; zeroPoint: number };
  private readonly inputQ: { scale: number; zeroPoint: number };
  private readonly inputBytes: number;
  private readonly customLoss: CustomLoss | null;
  // host buffers (counted in the plan's hostBytes)
  private readonly labelBuf: Int32Array;
  private readonly targetBuf: Float32Array;
  private readonly featureRow: Int8Array;
  private peakCacheBytes = 0;
  /** Bumped whenever the shadow weights change, to invalidate the cached candidate. */
  private version = 0;
  private candidate: { version: number; bytes: Uint8Array; model: Model } | null = null;
  private deployedIsOriginal = true;
  private readonly fingerprint: string;

  constructor(model: Model, opts: TrainerOptions = {}) {
    this.model = model;
    this.opts = opts;
    this.original = model.graph;
    const g = this.original;
    const section = planSection(g, opts.trainable ?? "head");
    this.section = section;
    const lossOpt = opts.loss ?? (section.softmax ? "crossEntropy" : "mse");
    if (typeof lossOpt === "function") { this.loss = "custom"; this.customLoss = lossOpt; } else if (lossOpt === "crossEntropy" || lossOpt === "mse") {
      this.loss = lossOpt; this.customLoss = null;
    } else throw new InvalidArgumentError(`loss must be 'crossEntropy', 'mse' or a function, got ${JSON.stringify(lossOpt)}`);
    const optName = opts.optimizer ?? "adam";
    if (optName !== "adam" && optName !== "sgd") throw new InvalidArgumentError(`optimizer must be 'adam' or 'sgd', got ${JSON.stringify(optName)}`);
    const maxBatch = checkBatchSize(opts.batchSize ?? 16, "batchSize");
    const budget = opts.memoryBudgetBytes;
    if (budget !== undefined && !(Number.isFinite(budget) && budget > 0)) throw new InvalidArgumentError(`memoryBudgetBytes must be a positive number, got ${budget}`);
    this.budgetBytes = budget ?? null;

    const inT = g.tensors[g.inputs[0]], bT = g.tensors[section.boundary];
    this.inputBytes = inT.byteLength;
    this.inputQ = { scale: inT.quantization!.scale[0], zeroPoint: inT.quantization!.zeroPoint[0] ?? 0 };
    this.boundaryQ = { scale: bT.quantization!.scale[0], zeroPoint: bT.quantization!.zeroPoint[0] ?? 0 };
    this.featureSize = prod(section.spec.input);
    const outT = g.tensors[sectionOutputTensor(g, section)];
    this.outputSize = prod(outT.shape);
    this.metric = opts.metric ?? (section.softmax || this.loss === "crossEntropy" ? accuracyMetric : this.reconstructionMetric());
    this.trainableParams = section.params.filter((p) => p.trainable);
    this.byName = new Map(section.params.map((p) => [p.name, p]));
    this.parameters = section.params.map((p) => ({
      name: p.name, shape: p.shape.slice(), trainable: p.trainable, tensor: p.tensor >= 0 ? g.tensors[p.tensor].name : "",
    }));

    // Plan, check the budget, then allocate.
    const kernels = new TrainKernels(opts.trainBuild ?? "auto");
    this.basePlan = planMemory({
      spec: section.spec, maxBatch, heapBase: kernels.usedBytes,
      optimizer: { name: optName, momentum: opts.momentum },
      trainableValues: this.trainableParams.reduce((a, p) => a + prod(p.shape), 0),
      mseTargets: this.loss === "mse", featureSize: this.featureSize,
    });
    this.plan = this.basePlan;
    this.checkBudget(this.basePlan, "fine-tuning");
    try {
      const trainable = this.trainableParams.map((p) => p.seqName);
      this.seq = new Sequential(section.spec, { maxBatch, kernels, trainable });
      this.optimizer = optName === "adam"
        ? new Adam(this.seq, { lr: opts.lr ?? 1e-3, trainable })
        : new Sgd(this.seq, { lr: opts.lr ?? 1e-2, momentum: opts.momentum, weightDecay: opts.weightDecay, trainable });
      if (this.loss === "mse") this.seq.reserveTarget();
    } catch (e) {
      if (e instanceof RangeError) throw new MemoryBudgetError(this.basePlan.totalBytes, kernels.memory.buffer.byteLength, "growing the training memory");
      throw e;
    }
    this.labelBuf = new Int32Array(maxBatch);
    this.targetBuf = new Float32Array(maxBatch * this.outputSize);
    this.featureRow = new Int8Array(this.featureSize);
    this.checkShapes(g);
    if (this.seq.outputSize !== this.outputSize) {
      throw new UnsupportedModelError("trainer", `the section computes ${this.seq.outputSize} outputs, the model ${this.outputSize}`);
    }
    this.fingerprint = this.computeFingerprint();
    this.loadOriginalWeights();
  }

  // ---------------------------------------------------------------- setup helpers

  private checkBudget(plan: MemoryPlan, what: string): void {
    if (this.budgetBytes !== null && plan.totalBytes > this.budgetBytes) {
      throw new MemoryBudgetError(plan.totalBytes, this.budgetBytes,
        `${what} ${this.describeTrainable()} at batch size ${this.seq ? this.seq.maxBatch : this.opts.batchSize ?? 16} (${describePlan(plan)}; ` +
        "a smaller batch or trainable set needs less)");
    }
  }

  private describeTrainable(): string {
    return `[${this.trainableParams.map((p) => p.name).join(", ")}]`;
  }

  /** The Sequential's layer shapes must match the graph's tensors. */
  private checkShapes(g: ModelGraph): void {
    this.section.layerOutputs.forEach((t, j) => {
      if (t < 0) return;
      const want = g.tensors[t].shape.slice(1), got = this.seq.layers[j].outShape;
      if (prod(want) !== prod(got) || (want.length === got.length && want.join(",") !== got.join(","))) {
        throw new UnsupportedModelError(`op output tensor ${t}`, `shape [${g.tensors[t].shape}] differs from the f32 layer's [1,${got}]`);
      }
    });
  }

  private reconstructionMetric(): Metric {
    const self = this;
    return {
      name: "reconstruction_mse",
      higherIsBetter: false,
      sample(output, i, data) {
        const target = self.targetOf(data, i);
        let s = 0;
        for (let k = 0; k < output.length; k++) { const d = output[k] - target[k]; s += d * d; }
        return s / output.length;
      },
    };
  }

  /** The real-valued target of sample i: given, or the dequantized input (autoencoders). */
  private targetOf(data: TrainData, i: number): ArrayLike<number> {
    if (data.targets) {
      const t = data.targets[i];
      if (!t || t.length !== this.outputSize) throw new InvalidArgumentError(`targets[${i}] must hold ${this.outputSize} values`);
      return t;
    }
    if (this.inputBytes !== this.outputSize) {
      throw new InvalidArgumentError(`no targets given, and the output (${this.outputSize} values) is not the input's size (${this.inputBytes}), so it cannot reconstruct its input`);
    }
    const x = asInt8(data.inputs[i]);
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = Math.fround(this.inputQ.scale * (x[k] - this.inputQ.zeroPoint));
    return out;
  }

  private computeFingerprint(): string {
    const h = createHash("sha256");
    const g = this.original;
    h.update(JSON.stringify({ boundary: g.tensors[this.section.boundary].shape, q: this.boundaryQ, spec: this.section.spec }));
    for (const p of this.section.params) {
      h.update(`${p.name}:${p.shape}:${p.trainable}`);
      if (p.tensor >= 0) {
        const t = g.tensors[p.tensor];
        h.update(t.data!);
        h.update(JSON.stringify(t.quantization));
      }
    }
    return h.digest("hex");
  }

  /** Shadow weights = the original graph's weights, dequantized (bit-for-bit the same every time). */
  private loadOriginalWeights(): void {
    const g = this.original;
    const w = new Map<string, Float32Array>();
    for (const p of this.section.params) {
      const t = p.tensor >= 0 ? g.tensors[p.tensor] : null;
      w.set(p.seqName, !t ? new Float32Array(prod(p.shape)) : p.kind === "weight" ? dequantizeWeights(t, p.axis) : dequantizeBias(t));
    }
    this.seq.setWeights(w);
    this.version++;
  }

  // ---------------------------------------------------------------- data

  private checkData(data: TrainData, what: string, forTraining: boolean): number {
    if (!data || !data.inputs || typeof data.inputs.length !== "number") throw new InvalidArgumentError(`${what}: expected { inputs: [...] }`);
    const n = data.inputs.length;
    for (let i = 0; i < n; i++) {
      const x = data.inputs[i];
      if (!(x instanceof Int8Array || x instanceof Uint8Array) || x.byteLength !== this.inputBytes) {
        throw new InvalidArgumentError(`${what}: inputs[${i}] must be ${this.inputBytes} int8 bytes (the model's input [${this.original.tensors[this.original.inputs[0]].shape}])`);
      }
    }
    const needLabels = this.loss === "crossEntropy" || (!forTraining && this.metric === accuracyMetric);
    if (data.labels) {
      if (data.labels.length !== n) throw new InvalidArgumentError(`${what}: ${data.labels.length} labels for ${n} inputs`);
      for (let i = 0; i < n; i++) {
        const c = data.labels[i];
        if (!Number.isInteger(c) || c < 0 || c >= this.outputSize) throw new InvalidArgumentError(`${what}: label ${c} at ${i} outside 0..${this.outputSize - 1}`);
      }
    } else if (needLabels) {
      throw new InvalidArgumentError(`${what}: labels are needed (${this.loss === "crossEntropy" ? "cross-entropy loss" : "accuracy"})`);
    }
    if (data.targets && data.targets.length !== n) throw new InvalidArgumentError(`${what}: ${data.targets.length} targets for ${n} inputs`);
    if (this.loss === "mse" && !data.targets && this.inputBytes !== this.outputSize) {
      throw new InvalidArgumentError(`${what}: targets are needed (the output has ${this.outputSize} values, the input ${this.inputBytes}, so it cannot reconstruct its input)`);
    }
    return n;
  }

  /** The frozen prefix's int8 output for one sample, computed by the deployed model. */
  private extract(input: Int8Array | Uint8Array, into: Int8Array): void {
    const s = this.section;
    if (s.boundaryOp < 0) { into.set(asInt8(input)); return; }
    const m = this.model;
    const inp = m.input(0);
    new Int8Array(inp.buffer, inp.byteOffset, inp.byteLength).set(asInt8(input));
    m.reset();
    m.invokeStepwise((i) => { if (i === s.boundaryOp) into.set(m.tensor(s.boundary) as Int8Array); });
  }

  /**
   * Fill the section's input buffer with samples idx[from..from+n) (features from the cache or the
   * int8 prefix), and the host label / target buffers. Returns whether targets were filled.
   */
  private loadBatch(data: TrainData, idx: ArrayLike<number>, from: number, n: number, cache: Int8Array | null): boolean {
    const F = this.featureSize, { scale, zeroPoint } = this.boundaryQ;
    const withTargets = this.loss !== "crossEntropy" && (!!data.targets || this.inputBytes === this.outputSize);
    for (let j = 0; j < n; j++) {
      const i = idx[from + j];
      let row: Int8Array;
      if (cache) row = cache.subarray(i * F, i * F + F);
      else { this.extract(data.inputs[i], this.featureRow); row = this.featureRow; }
      const x = this.seq.kernels.f32(this.seq.acts[0] + 4 * j * F, F);
      for (let k = 0; k < F; k++) x[k] = Math.fround(scale * (row[k] - zeroPoint));
      if (data.labels) this.labelBuf[j] = data.labels[i];
      // (checkData made sure a mean-squared-error run has targets or reconstructs its input)
      if (withTargets) this.targetBuf.set(this.targetOf(data, i), j * this.outputSize);
    }
    return withTargets;
  }

  /** Forward, loss and gradients for the loaded batch; returns the mean loss. */
  private lossAndGradients(n: number, hasLabels: boolean, hasTargets: boolean): number {
    const seq = this.seq;
    const out = seq.forward(n);
    let loss: number;
    if (this.customLoss) {
      const grad = seq.kernels.f32(seq.dActs[seq.layers.length], n * this.outputSize);
      loss = this.customLoss(out, {
        n, labels: hasLabels ? this.labelBuf.subarray(0, n) : null, targets: hasTargets ? this.targetBuf.subarray(0, n * this.outputSize) : null,
      }, grad);
      if (typeof loss !== "number") throw new InvalidArgumentError("the custom loss must return the batch's mean loss (a number)");
    } else if (this.loss === "crossEntropy") {
      loss = seq.softmaxCrossEntropy(this.labelBuf, n);
    } else {
      loss = seq.meanSquaredError(this.targetBuf, n);
    }
    seq.zeroGrad();
    seq.backward(n);
    return loss;
  }

  // ---------------------------------------------------------------- training

  /** Gradients of the loss on one batch, without updating anything; returns the mean loss. */
  computeGradients(batch: TrainData): number {
    const n = this.checkData(batch, "batch", true);
    if (n < 1 || n > this.seq.maxBatch) throw new InvalidArgumentError(`a batch holds 1..${this.seq.maxBatch} samples, got ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    const hasTargets = this.loadBatch(batch, idx, 0, n, null);
    return this.lossAndGradients(n, !!batch.labels, hasTargets);
  }

  /** One training step on a batch (features through the int8 prefix): gradients, then an optimizer update. Returns the loss. */
  step(batch: TrainData): number {
    const loss = this.computeGradients(batch);
    this.applyUpdate(loss, batch.inputs.length);
    return loss;
  }

  private applyUpdate(loss: number, n: number): void {
    if (!Number.isFinite(loss)) throw new InvalidArgumentError(`the loss is ${loss} at step ${this.steps + 1}: training diverged (lower the learning rate)`);
    this.optimizer.step();
    this.steps++;
    this.version++;
    this.opts.onStep?.({ step: this.steps, epoch: this.epochs, loss, batchSize: n });
  }

  /** Epochs of minibatch training over `data`, with callbacks, optional feature cache and early stop. */
  fit(data: TrainData, opts: FitOptions): FitResult {
    const t0 = performance.now();
    const count = this.checkData(data, "training data", true);
    if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw new InvalidArgumentError(`epochs must be an integer >= 0, got ${opts.epochs}`);
    const batchSize = checkBatchSize(opts.batchSize ?? this.seq.maxBatch, "batchSize");
    if (batchSize > this.seq.maxBatch) throw new InvalidArgumentError(`batchSize ${batchSize} is over the trainer's batchSize ${this.seq.maxBatch}`);
    if (count === 0) throw new InvalidArgumentError("training data is empty");
    const validation = opts.validation === undefined ? this.opts.validation ?? null : opts.validation;
    if (validation) this.checkData(validation, "validation data", false);

    // The feature cache is planned (and budget-checked) before training starts.
    let cache: Int8Array | null = null;
    const cachePlan = { ...this.basePlan, featureCacheBytes: count * this.featureSize, totalBytes: this.basePlan.totalBytes + count * this.featureSize };
    const mode = opts.cacheFeatures ?? "auto";
    const fits = this.budgetBytes === null || cachePlan.totalBytes <= this.budgetBytes;
    if (mode === true && !fits) this.checkBudget(cachePlan, "fine-tuning with a feature cache for");
    if (mode !== false && fits && this.section.boundaryOp >= 0) {
      cache = new Int8Array(count * this.featureSize);
      for (let i = 0; i < count; i++) this.extract(data.inputs[i], cache.subarray(i * this.featureSize, (i + 1) * this.featureSize));
      this.peakCacheBytes = Math.max(this.peakCacheBytes, cache.byteLength);
      if (cachePlan.totalBytes > this.plan.totalBytes) this.plan = cachePlan;
    }

    const rng = new Rng(opts.seed ?? 1);
    const order = Int32Array.from({ length: count }, (_, i) => i);
    const history: EpochInfo[] = [];
    let stopped = false;
    for (let e = 0; e < opts.epochs && !stopped; e++) {
      const te = performance.now();
      rng.shuffle(order);
      let sum = 0, seen = 0, steps = 0;
      for (let from = 0; from < count; from += batchSize) {
        const n = Math.min(batchSize, count - from);
        const hasTargets = this.loadBatch(data, order, from, n, cache);
        const loss = this.lossAndGradients(n, !!data.labels, hasTargets);
        this.applyUpdate(loss, n);
        sum += loss * n; seen += n; steps++;
        if (this.opts.shouldStop?.({ phase: "step", step: this.steps, epoch: this.epochs, loss })) { stopped = true; break; }
      }
      this.epochs++;
      const info: EpochInfo = { epoch: this.epochs, loss: sum / Math.max(seen, 1), seconds: (performance.now() - te) / 1000, steps };
      if (validation) info.validation = this.evaluate(validation, { on: "float" });
      history.push(info);
      this.opts.onEpoch?.(info);
      if (!stopped && this.opts.shouldStop?.({ phase: "epoch", step: this.steps, epoch: this.epochs, loss: info.loss, validation: info.validation })) stopped = true;
    }
    return { epochs: history, steps: history.reduce((a, h) => a + h.steps, 0), stopped, seconds: (performance.now() - t0) / 1000, featuresCached: cache !== null };
  }

  // ---------------------------------------------------------------- evaluation

  /**
   * The metric on `data`: "trained" (default) runs the requantized fine-tuned int8 model (what
   * export/commit would deploy), "deployed" the model running now, "float" the f32 shadow weights.
   */
  evaluate(data: TrainData, opts: { on?: EvaluateOn; metric?: Metric } = {}): Evaluation {
    const on = opts.on ?? "trained";
    const metric = opts.metric ?? this.metric;
    const n = this.checkData(data, "evaluation data", false);
    let sum = 0;
    if (on === "float") {
      const idx = Array.from({ length: n }, (_, i) => i);
      const out = new Float32Array(this.outputSize);
      for (let from = 0; from < n; from += this.seq.maxBatch) {
        const b = Math.min(this.seq.maxBatch, n - from);
        this.loadBatch(data, idx, from, b, null);
        const y = this.seq.forward(b);
        for (let j = 0; j < b; j++) {
          out.set(y.subarray(j * this.outputSize, (j + 1) * this.outputSize));
          if (this.section.softmax) softmaxInPlace(out);
          sum += metric.sample(out, from + j, data);
        }
      }
    } else if (on === "trained" || on === "deployed") {
      const m = on === "deployed" ? this.model : this.candidateModel().model;
      sum = runMetric(m, data, n, metric);
    } else {
      throw new InvalidArgumentError(`evaluate: 'on' must be trained, deployed or float, got ${JSON.stringify(on)}`);
    }
    return { metric: metric.name, value: n ? sum / n : NaN, higherIsBetter: metric.higherIsBetter, count: n, on };
  }

  // ---------------------------------------------------------------- weights, checkpoints

  /** Copies of the f32 shadow weights of the section, by trainer name (op<i>.weight / op<i>.bias). */
  weights(): Map<string, Float32Array> {
    const w = this.seq.getWeights();
    return new Map(this.section.params.map((p) => [p.name, w.get(p.seqName)!]));
  }

  /** Gradients of the trainable tensors from the last step / computeGradients, by trainer name. */
  gradients(): Map<string, Float32Array> {
    const g = this.seq.gradients();
    return new Map(this.trainableParams.map((p) => [p.name, g.get(p.seqName)!]));
  }

  /** Trainable weights, optimizer state and progress, in the versioned checkpoint format (checkpoint.ts). */
  checkpoint(): Uint8Array {
    const w = this.weights();
    const st = this.optimizer.getState();
    const tensors = this.trainableParams.map((p) => ({ name: p.name, shape: p.shape, values: w.get(p.name)! }));
    const seqToName = new Map(this.section.params.map((p) => [p.seqName, p.name]));
    for (const [k, v] of st.vectors) {
      const dot = k.lastIndexOf(".");
      const base = k.slice(0, dot), slot = k.slice(dot + 1);
      tensors.push({ name: `optimizer/${seqToName.get(base)}.${slot}`, shape: [v.length], values: v });
    }
    return encodeCheckpoint({
      modelFingerprint: this.fingerprint,
      model: { description: this.original.description, trainable: this.trainableParams.map((p) => p.name) },
      optimizer: { name: st.name, scalars: st.scalars },
      progress: { steps: this.steps, epochs: this.epochs },
    }, tensors);
  }

  /**
   * restore(): back to the weights the model had when the trainer was made, exactly: shadow
   * weights re-read from the original graph, optimizer state cleared, and if a commit replaced
   * the running model, the original graph is swapped back in.
   * restore(checkpoint): the trainable weights, optimizer state and progress of a checkpoint
   * (the running model is unchanged until the next commit).
   */
  restore(ckpt?: Uint8Array): void {
    if (ckpt === undefined) {
      this.loadOriginalWeights();
      this.optimizer.reset();
      this.steps = 0;
      this.epochs = 0;
      if (!this.deployedIsOriginal) {
        this.model.replaceWith(createModel(this.original, { kernels: this.model.kernels }));
        this.deployedIsOriginal = true;
      }
      this.dropCandidate();
      return;
    }
    const { header, tensors } = decodeCheckpoint(ckpt);
    if (header.modelFingerprint !== this.fingerprint) {
      throw new InvalidArgumentError("checkpoint: it was made for a different model or trainable set (fingerprint mismatch)");
    }
    if (header.optimizer.name !== this.optimizer.name) {
      throw new InvalidArgumentError(`checkpoint: optimizer '${header.optimizer.name}', this trainer uses '${this.optimizer.name}'`);
    }
    const w = new Map<string, Float32Array>();
    for (const p of this.trainableParams) {
      const v = tensors.get(p.name);
      if (!v || v.length !== prod(p.shape)) throw new InvalidArgumentError(`checkpoint: tensor ${p.name} is missing or has the wrong size`);
      w.set(p.seqName, v);
    }
    const vectors = new Map<string, Float32Array>();
    const nameToSeq = new Map(this.section.params.map((p) => [p.name, p.seqName]));
    for (const [k, v] of tensors) {
      if (!k.startsWith("optimizer/")) continue;
      const rest = k.slice("optimizer/".length), dot = rest.lastIndexOf(".");
      vectors.set(`${nameToSeq.get(rest.slice(0, dot))}.${rest.slice(dot + 1)}`, v);
    }
    this.optimizer.setState({ name: header.optimizer.name, scalars: header.optimizer.scalars, vectors });
    this.seq.setWeights(w);
    this.steps = header.progress.steps;
    this.epochs = header.progress.epochs;
    this.version++;
  }

  // ---------------------------------------------------------------- export, commit

  /** The fine-tuned model as .tflite bytes: the original graph with the trained tensors requantized. */
  export(): Uint8Array {
    return this.candidateModel().bytes;
  }

  private buildExport(): Uint8Array {
    const g = this.original;
    const w = this.seq.getWeights();
    const updates = new Map<number, TensorUpdate>();
    for (const op of this.section.trainableOps) {
      const wp = this.byName.get(`op${op}.weight`)!, bp = this.byName.get(`op${op}.bias`)!;
      const wt = g.tensors[wp.tensor];
      let scales = wt.quantization!.scale, changed = scales.map(() => false);
      if (wp.trainable) {
        const r = requantizeWeights(w.get(wp.seqName)!, wt, wp.axis);
        scales = r.scales; changed = r.changed;
        updates.set(wp.tensor, tensorUpdate(r, wt));
      }
      if (bp.tensor >= 0 && (bp.trainable || changed.some((c) => c))) {
        const bt: Tensor = g.tensors[bp.tensor];
        const inScale = g.tensors[g.operators[op].inputs[0]].quantization!.scale[0];
        updates.set(bp.tensor, tensorUpdate(requantizeBias(w.get(bp.seqName)!, bt, inScale, scales, changed), bt));
      }
    }
    return writeModel(graphToDesc(g, updates));
  }

  private candidateModel(): { bytes: Uint8Array; model: Model } {
    if (!this.candidate || this.candidate.version !== this.version) {
      const bytes = this.buildExport();
      this.candidate = { version: this.version, bytes, model: createModel(parseModel(bytes), { kernels: this.model.kernels }) };
    }
    return this.candidate;
  }

  private dropCandidate(): void { this.candidate = null; }

  /**
   * Requantize the trained weights and hot-swap them into the running model, if the held-out
   * metric did not get worse (or `force`). Returns what was measured and whether it was committed.
   */
  commit(opts: CommitOptions = {}): CommitResult {
    const validation = opts.validation ?? this.opts.validation;
    const force = opts.force ?? false;
    if (!validation && !force) {
      throw new InvalidArgumentError("commit needs held-out data (options.validation) to check that the model did not get worse; pass force: true to commit unchecked");
    }
    const cand = this.candidateModel();
    const candidateBytes = cand.model.memory.wasmMemoryBytes;
    let before = NaN, after = NaN;
    if (validation) {
      before = this.evaluate(validation, { on: "deployed" }).value;
      after = this.evaluate(validation, { on: "trained" }).value;
    }
    const m = this.metric;
    const worse = validation ? (m.higherIsBetter ? after < before : after > before) : false;
    const base = { forced: force, metric: m.name, higherIsBetter: m.higherIsBetter, before, after, candidateBytes };
    if (worse && !force) {
      this.dropCandidate();
      return { ...base, committed: false, reason: `held-out ${m.name} would get worse (${before} -> ${after}); not committed (force: true overrides)` };
    }
    this.model.replaceWith(cand.model);
    this.deployedIsOriginal = false;
    this.dropCandidate();
    const reason = !validation ? "committed without a held-out check (forced)"
      : worse ? `committed although held-out ${m.name} got worse (${before} -> ${after}) (forced)`
        : `held-out ${m.name} ${before} -> ${after}`;
    return { ...base, committed: true, reason };
  }

  // ---------------------------------------------------------------- memory

  /** Planned and actually used extra memory. */
  memoryReport(): TrainerMemoryReport {
    const k = this.seq.kernels;
    const hostBytes = this.labelBuf.byteLength + this.targetBuf.byteLength + this.featureRow.byteLength;
    const used = {
      trainingHeapBytes: k.usedBytes, trainingWasmBytes: k.memory.buffer.byteLength, hostBytes,
      featureCacheBytes: this.peakCacheBytes, totalBytes: k.usedBytes + hostBytes + this.peakCacheBytes,
    };
    return { budgetBytes: this.budgetBytes, planned: this.plan, used };
  }
}

function softmaxInPlace(v: Float32Array): void {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  let s = 0;
  for (let i = 0; i < v.length; i++) { v[i] = Math.exp(v[i] - m); s += v[i]; }
  for (let i = 0; i < v.length; i++) v[i] /= s;
}

/** Run an int8 model on every sample and average the metric over its dequantized outputs. */
function runMetric(m: Model, data: TrainData, n: number, metric: Metric): number {
  const info = m.outputs[0];
  const scale = info.scale ?? 1, zp = info.zeroPoint ?? 0;
  const out = new Float32Array(prod(info.shape));
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const inp = m.input(0);
    new Int8Array(inp.buffer, inp.byteOffset, inp.byteLength).set(asInt8(data.inputs[i]));
    m.reset();
    m.invoke();
    const y = m.output(0);
    for (let k = 0; k < out.length; k++) out[k] = scale * (Number(y[k]) - zp);
    sum += metric.sample(out, i, data);
  }
  return sum;
}

/** Make a trainer for a loaded int8 model (same as model.trainer(opts)). */
export function createTrainer(model: Model, opts: TrainerOptions = {}): Trainer {
  return new Trainer(model, opts);
}
