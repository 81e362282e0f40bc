// Optimizers over a Sequential model's flat parameter block. State (momentum / moments) lives in
// the kernel instance's memory at the same offsets as the parameters, and a step touches only the
// trainable tensors, so "train the head only" or "biases only" is a list of names.
import { InvalidArgumentError } from "../errors.js";
import type { Sequential, ParamTensor } from "./model.js";

export interface Optimizer {
  /** Apply one update from the accumulated gradients to the trainable tensors. */
  step(): void;
  readonly name: string;
}

function finiteNonNeg(v: number, what: string): number {
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${what} must be a finite number >= 0, got ${v}`);
  return v;
}

function selectTrainable(model: Sequential, trainable?: string[]): ParamTensor[] {
  if (!trainable) return model.params;
  const byName = new Map(model.params.map((p) => [p.name, p]));
  return trainable.map((n) => {
    const p = byName.get(n);
    if (!p) throw new InvalidArgumentError(`unknown parameter '${n}' (have: ${[...byName.keys()].join(", ")})`);
    return p;
  });
}

export interface SgdOptions { lr: number; momentum?: number; weightDecay?: number; trainable?: string[] }

/** SGD with optional momentum and L2 weight decay (PyTorch's convention, see assembly/train/optim.ts). */
export class Sgd implements Optimizer {
  readonly name = "sgd";
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly tensors: ParamTensor[];
  private readonly velocityPtr: number;

  constructor(private readonly model: Sequential, opts: SgdOptions) {
    this.lr = finiteNonNeg(opts.lr, "lr");
    this.momentum = finiteNonNeg(opts.momentum ?? 0, "momentum");
    this.weightDecay = finiteNonNeg(opts.weightDecay ?? 0, "weightDecay");
    this.tensors = selectTrainable(model, opts.trainable);
    this.velocityPtr = this.momentum > 0 ? model.kernels.allocF32(model.paramCount) : 0;
  }

  step(): void {
    const m = this.model, k = m.kernels.k;
    for (const p of this.tensors) {
      const o = 4 * p.offset;
      k.sgdStep(m.paramPtr + o, m.gradPtr + o, this.velocityPtr ? this.velocityPtr + o : 0,
        p.count, this.lr, this.momentum, this.weightDecay);
    }
  }
}

export interface AdamOptions { lr?: number; beta1?: number; beta2?: number; eps?: number; trainable?: string[] }

/** Adam (Kingma & Ba) with bias correction; defaults lr 1e-3, betas 0.9 / 0.999, eps 1e-8. */
export class Adam implements Optimizer {
  readonly name = "adam";
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Steps taken so far. */
  t = 0;
  private readonly tensors: ParamTensor[];
  private readonly mPtr: number;
  private readonly vPtr: number;

  constructor(private readonly model: Sequential, opts: AdamOptions = {}) {
    this.lr = finiteNonNeg(opts.lr ?? 1e-3, "lr");
    this.beta1 = finiteNonNeg(opts.beta1 ?? 0.9, "beta1");
    this.beta2 = finiteNonNeg(opts.beta2 ?? 0.999, "beta2");
    this.eps = finiteNonNeg(opts.eps ?? 1e-8, "eps");
    if (this.beta1 >= 1 || this.beta2 >= 1) throw new InvalidArgumentError("Adam betas must be below 1");
    this.tensors = selectTrainable(model, opts.trainable);
    this.mPtr = model.kernels.allocF32(model.paramCount);
    this.vPtr = model.kernels.allocF32(model.paramCount);
  }

  step(): void {
    this.t++;
    // Bias corrections in double on the host, rounded once to f32 for the kernel.
    const bc1 = 1 - Math.pow(this.beta1, this.t), bc2 = 1 - Math.pow(this.beta2, this.t);
    const m = this.model, k = m.kernels.k;
    for (const p of this.tensors) {
      const o = 4 * p.offset;
      k.adamStep(m.paramPtr + o, m.gradPtr + o, this.mPtr + o, this.vPtr + o, p.count,
        this.lr, this.beta1, this.beta2, 1 - this.beta1, 1 - this.beta2, this.eps, bc1, bc2);
    }
  }
}
