// The fine-tuning API (see README.md in this folder), and finetuneOnDevice: one call that a
// device agent runs for a fleet `finetune` command.
import { InvalidArgumentError } from "../errors.js";
import { parseModel } from "../model/reader.js";
import { createModel } from "../runtime/model.js";
import { Rng } from "./rng.js";
import type { TrainableSpec } from "./section.js";
import type { TrainData } from "./trainer.js";

export {
  Trainer, createTrainer, accuracyMetric,
  type TrainerOptions, type TrainData, type Metric, type CustomLoss, type LossBatch, type FitOptions, type FitResult,
  type EpochInfo, type StepInfo, type StopInfo, type Evaluation, type EvaluateOn, type CommitOptions, type CommitResult,
  type ParameterInfo, type TrainerMemoryReport,
} from "./trainer.js";
export type { TrainableSpec } from "./section.js";
export type { MemoryPlan } from "./memory.js";
export { decodeCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointHeader } from "./checkpoint.js";

export interface DeviceFinetuneData {
  /** Raw bytes of input tensor 0, one per sample. */
  inputs: Uint8Array[];
  /** Class labels (classifiers); without them the model is trained to reconstruct its input (autoencoders). */
  labels?: number[];
}

export interface DeviceFinetuneOptions {
  trainable?: TrainableSpec;
  /** Default 10. */
  epochs?: number;
  /** Extra memory allowed for training (MemoryBudgetError over it, before anything is allocated). */
  budgetBytes?: number;
  /** Default 5e-3 (Adam). */
  lr?: number;
  /** Default 16. */
  batchSize?: number;
  /** Share of the samples held out to check the result before committing (default 0.25). */
  holdout?: number;
  /** Split and shuffling seed (default 1). */
  seed?: number;
  /** Commit even if the held-out metric got worse. */
  force?: boolean;
}

export interface DeviceFinetuneResult {
  /** The fine-tuned model if committed, else the original bytes. */
  bytes: Uint8Array;
  /** Held-out metric before and after (accuracy, or reconstruction_mse: lower is better). */
  before: number;
  after: number;
  metric: string;
  higherIsBetter: boolean;
  /** Extra memory actually used by training (bytes). */
  memoryBytes: number;
  committed: boolean;
  reason: string;
  trainCount: number;
  heldOutCount: number;
  /** false when there were too few samples to hold any out: the check ran on the training samples. */
  heldOutDisjoint: boolean;
  epochs: number;
  seconds: number;
}

/**
 * Fine-tune a .tflite model on a device's own samples: split off a held-out share, train, and
 * keep the result only if the held-out metric did not get worse.
 */
export async function finetuneOnDevice(modelBytes: Uint8Array, data: DeviceFinetuneData, opts: DeviceFinetuneOptions = {}): Promise<DeviceFinetuneResult> {
  const t0 = performance.now();
  if (!data || !Array.isArray(data.inputs)) throw new InvalidArgumentError("finetune: data.inputs must be an array of input tensors");
  const n = data.inputs.length;
  if (n < 2) throw new InvalidArgumentError(`finetune: need at least 2 samples, got ${n}`);
  if (data.labels && data.labels.length !== n) throw new InvalidArgumentError(`finetune: ${data.labels.length} labels for ${n} inputs`);
  const holdout = opts.holdout ?? 0.25;
  if (!(holdout > 0 && holdout < 1)) throw new InvalidArgumentError(`finetune: holdout must be between 0 and 1, got ${holdout}`);
  const epochs = opts.epochs ?? 10;
  const order = new Rng(opts.seed ?? 1).shuffle(Array.from({ length: n }, (_, i) => i));
  const heldOutCount = n >= 4 ? Math.max(1, Math.round(n * holdout)) : n;
  const disjoint = n >= 4;
  const pick = (idx: number[]): TrainData => ({
    inputs: idx.map((i) => data.inputs[i]),
    labels: data.labels ? idx.map((i) => data.labels![i]) : undefined,
  });
  const validation = pick(order.slice(0, heldOutCount));
  const train = pick(disjoint ? order.slice(heldOutCount) : order);

  const model = createModel(parseModel(modelBytes));
  const trainer = model.trainer({
    trainable: opts.trainable ?? "head", lr: opts.lr ?? 5e-3, batchSize: opts.batchSize ?? 16,
    memoryBudgetBytes: opts.budgetBytes, validation,
  });
  trainer.fit(train, { epochs, seed: opts.seed ?? 1, validation: null });
  const tuned = trainer.export();
  const r = trainer.commit({ force: opts.force });
  return {
    bytes: r.committed ? tuned : modelBytes,
    before: r.before, after: r.after, metric: r.metric, higherIsBetter: r.higherIsBetter,
    memoryBytes: trainer.memoryReport().used.totalBytes,
    committed: r.committed, reason: r.reason,
    trainCount: train.inputs.length, heldOutCount, heldOutDisjoint: disjoint, epochs: trainer.epochs,
    seconds: (performance.now() - t0) / 1000,
  };
}
