// Optimizers over a Sequential model's flat parameter block. A step touches only the trainable
// tensors, so "train the head only" or "biases only" is a list of names. Optimizer state
// (momentum / moments) lives in the kernel instance's memory, one compact block holding only the
// trainable tensors' state, so freezing most of a model also saves the optimizer's memory.
import { InvalidArgumentError } from "../errors.js";
import type { Sequential, ParamTensor } from "./model.js";

/** Everything an optimizer carries between steps, for checkpoints. */
export interface OptimizerState {
  name: string;
  /** Scalars such as Adam's step count. */
  scalars: Record<string, number>;
  /** Named state vectors ("<param>.m", "<param>.velocity", ...), copies. */
  vectors: Map<string, Float32Array>;
}

export interface Optimizer {
  /** Apply one update from the accumulated gradients to the trainable tensors. */
  step(): void;
  readonly name: string;
  lr: number;
  /** The trainable tensors this optimizer updates. */
  readonly tensors: readonly ParamTensor[];
  /** Bytes of state it keeps in the kernel instance's memory. */
  readonly stateBytes: number;
  getState(): OptimizerState;
  setState(state: OptimizerState): void;
  /** Back to the state of a freshly made optimizer (zero moments, step 0). */
  reset(): void;
}

function finiteNonNeg(v: number, what: string): number {
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${what} must be a finite number >= 0, got ${v}`);
  return v;
}

function selectTrainable(model: Sequential, trainable?: string[]): ParamTensor[] {
  if (!trainable) return model.params.filter((p) => p.gradOffset >= 0);
  const byName = new Map(model.params.map((p) => [p.name, p]));
  return trainable.map((n) => {
    const p = byName.get(n);
    if (!p) throw new InvalidArgumentError(`unknown parameter '${n}' (have: ${[...byName.keys()].join(", ")})`);
    if (p.gradOffset < 0) throw new InvalidArgumentError(`parameter '${n}' was frozen when the model was made (no gradient)`);
    return p;
  });
}

/** Floats of state per state vector: the trainable tensors' sizes summed. */
export function trainableCount(tensors: readonly { count: number }[]): number {
  return tensors.reduce((a, p) => a + p.count, 0);
}

/**
 * `slots` state vectors per trainable tensor, each a compact block of trainableCount floats;
 * tensor i's state sits at the same float offset in every block.
 */
class StateBlocks {
  readonly ptrs: number[];
  readonly offsets: number[] = [];
  readonly floats: number;
  constructor(private readonly model: Sequential, readonly tensors: readonly ParamTensor[], readonly slotNames: string[]) {
    let o = 0;
    for (const p of tensors) { this.offsets.push(o); o += p.count; }
    this.floats = o;
    this.ptrs = slotNames.map(() => model.kernels.allocF32(Math.max(o, 1)));
  }
  get bytes(): number { return this.slotNames.length * 4 * this.floats; }
  ptr(slot: number, tensor: number): number { return this.ptrs[slot] + 4 * this.offsets[tensor]; }
  fillZero(): void { for (const p of this.ptrs) this.model.kernels.f32(p, this.floats).fill(0); }
  read(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    this.slotNames.forEach((s, k) => this.tensors.forEach((p, i) => out.set(`${p.name}.${s}`, this.model.kernels.f32(this.ptr(k, i), p.count).slice())));
    return out;
  }
  write(v: Map<string, Float32Array>): void {
    this.slotNames.forEach((s, k) => this.tensors.forEach((p, i) => {
      const key = `${p.name}.${s}`, src = v.get(key);
      if (!src || src.length !== p.count) throw new InvalidArgumentError(`optimizer state '${key}' is missing or has the wrong size`);
      this.model.kernels.f32(this.ptr(k, i), p.count).set(src);
    }));
  }
}

export interface SgdOptions { lr: number; momentum?: number; weightDecay?: number; trainable?: string[] }

/** SGD with optional momentum and L2 weight decay (PyTorch's convention, see assembly/train/optim.ts). */
export class Sgd implements Optimizer {
  readonly name = "sgd";
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly tensors: ParamTensor[];
  private readonly state: StateBlocks;

  constructor(private readonly model: Sequential, opts: SgdOptions) {
    this.lr = finiteNonNeg(opts.lr, "lr");
    this.momentum = finiteNonNeg(opts.momentum ?? 0, "momentum");
    this.weightDecay = finiteNonNeg(opts.weightDecay ?? 0, "weightDecay");
    this.tensors = selectTrainable(model, opts.trainable);
    this.state = new StateBlocks(model, this.tensors, this.momentum > 0 ? ["velocity"] : []);
  }

  get stateBytes(): number { return this.state.bytes; }

  step(): void {
    const m = this.model, k = m.kernels.k;
    this.tensors.forEach((p, i) => {
      k.sgdStep(m.paramPtr + 4 * p.offset, m.gradPtr + 4 * p.gradOffset, this.momentum > 0 ? this.state.ptr(0, i) : 0,
        p.count, this.lr, this.momentum, this.weightDecay);
    });
  }

  getState(): OptimizerState { return { name: this.name, scalars: { lr: this.lr }, vectors: this.state.read() }; }
  setState(s: OptimizerState): void {
    if (s.name !== this.name) throw new InvalidArgumentError(`optimizer state is for '${s.name}', this optimizer is '${this.name}'`);
    this.state.write(s.vectors);
    if (s.scalars.lr !== undefined) this.lr = s.scalars.lr;
  }
  reset(): void { this.state.fillZero(); }
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
  readonly tensors: ParamTensor[];
  private readonly state: StateBlocks;

  constructor(private readonly model: Sequential, opts: AdamOptions = {}) {
    this.lr = finiteNonNeg(opts.lr ?? 1e-3, "lr");
    this.beta1 = finiteNonNeg(opts.beta1 ?? 0.9, "beta1");
    this.beta2 = finiteNonNeg(opts.beta2 ?? 0.999, "beta2");
    this.eps = finiteNonNeg(opts.eps ?? 1e-8, "eps");
    if (this.beta1 >= 1 || this.beta2 >= 1) throw new InvalidArgumentError("Adam betas must be below 1");
    this.tensors = selectTrainable(model, opts.trainable);
    this.state = new StateBlocks(model, this.tensors, ["m", "v"]);
  }

  get stateBytes(): number { return this.state.bytes; }

  step(): void {
    this.t++;
    // Bias corrections in double on the host, rounded once to f32 for the kernel.
    const bc1 = 1 - Math.pow(this.beta1, this.t), bc2 = 1 - Math.pow(this.beta2, this.t);
    const m = this.model, k = m.kernels.k;
    this.tensors.forEach((p, i) => {
      k.adamStep(m.paramPtr + 4 * p.offset, m.gradPtr + 4 * p.gradOffset, this.state.ptr(0, i), this.state.ptr(1, i), p.count,
        this.lr, this.beta1, this.beta2, 1 - this.beta1, 1 - this.beta2, this.eps, bc1, bc2);
    });
  }

  getState(): OptimizerState { return { name: this.name, scalars: { lr: this.lr, t: this.t }, vectors: this.state.read() }; }
  setState(s: OptimizerState): void {
    if (s.name !== this.name) throw new InvalidArgumentError(`optimizer state is for '${s.name}', this optimizer is '${this.name}'`);
    const t = s.scalars.t;
    if (!Number.isInteger(t) || t < 0) throw new InvalidArgumentError(`Adam state needs an integer step count, got ${t}`);
    this.state.write(s.vectors);
    this.t = t;
    if (s.scalars.lr !== undefined) this.lr = s.scalars.lr;
  }
  reset(): void { this.state.fillZero(); this.t = 0; }
}
