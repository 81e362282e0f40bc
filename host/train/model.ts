// A sequential f32 model trained with the wasm kernels: layer specs, parameter layout, forward and
// backward over a batch. Layouts match TFLite so quantization is a straight conversion:
// activations NHWC, conv weights OHWI, depthwise weights [1, KH, KW, C*M], dense weights [out, in],
// and "flatten" is a no-op on memory like TFLite's RESHAPE of an NHWC tensor.
import { InvalidArgumentError } from "../errors.js";
import { TrainKernels, windowGeometry, type WindowGeometry, type TrainBuild } from "./kernels.js";
import { Rng } from "./rng.js";

export type Activation = "relu" | "none";
export type PaddingMode = "same" | "valid";

export type LayerSpec =
  | { type: "conv2d"; filters: number; kernel: number | [number, number]; stride?: number | [number, number]; padding?: PaddingMode; activation?: Activation }
  | { type: "depthwise"; kernel: number | [number, number]; stride?: number | [number, number]; padding?: PaddingMode; multiplier?: number; activation?: Activation }
  | { type: "avgpool"; pool: number | [number, number]; stride?: number | [number, number]; padding?: PaddingMode }
  | { type: "maxpool"; pool: number | [number, number]; stride?: number | [number, number]; padding?: PaddingMode }
  | { type: "flatten" }
  | { type: "dense"; units: number; activation?: Activation };

export interface ModelSpec {
  /** Per-sample input shape: [H, W, C] for images, [D] for vectors. */
  input: number[];
  layers: LayerSpec[];
}

/** One parameter tensor: a slice of the model's flat parameter block (and of its gradient block). */
export interface ParamTensor {
  name: string;
  shape: number[];
  /** Offset in floats into the flat parameter block. */
  offset: number;
  count: number;
  /** Offset in floats into the gradient block; -1 for a frozen tensor, which gets no gradient. */
  gradOffset: number;
}

/** What a layer does with a batch; pointers are into the kernel instance's memory. */
export interface LayerImpl {
  readonly spec: LayerSpec;
  readonly inShape: number[];
  readonly outShape: number[];
  readonly activation: Activation;
  /** Output is the input buffer itself (flatten). */
  readonly aliasesInput: boolean;
  readonly params: ParamTensor[];
  /** Fan-in used for weight initialisation. */
  readonly fanIn: number;
  forward(x: number, y: number, n: number): void;
  /** Accumulates parameter gradients; writes dx unless dx == 0. */
  backward(x: number, dy: number, dx: number, n: number): void;
}

const pair = (v: number | [number, number] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : v;
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The first `count` values of an array or typed array, without copying typed arrays. */
function firstValues(a: ArrayLike<number>, count: number): ArrayLike<number> {
  if (a.length === count) return a;
  if (ArrayBuffer.isView(a)) return (a as unknown as Float32Array).subarray(0, count);
  return Array.prototype.slice.call(a, 0, count) as number[];
}

function checkPositiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive integer, got ${v}`);
}

export class Sequential {
  readonly kernels: TrainKernels;
  readonly spec: ModelSpec;
  readonly maxBatch: number;
  readonly layers: LayerImpl[] = [];
  readonly params: ParamTensor[] = [];
  /** Total parameter count; params/grads are flat blocks of this many floats. */
  readonly paramCount: number;
  readonly paramPtr: number;
  readonly gradPtr: number;
  /** acts[0] is the input batch buffer, acts[i + 1] the output of layer i. */
  readonly acts: number[] = [];
  /** grads of the loss with respect to acts[i] (dActs[0] is never written). */
  readonly dActs: number[] = [];
  readonly labelsPtr: number;
  readonly inputSize: number;
  readonly outputSize: number;
  private targetPtr = 0;

  /** Floats in the gradient block (the parameters that get gradients). */
  readonly gradCount: number;

  /**
   * `trainable`: names of the parameters that get gradients (default all). Frozen ones still take
   * part in the forward pass and pass gradients through, but get no gradient memory or work.
   */
  constructor(spec: ModelSpec, opts: { maxBatch: number; seed?: number; build?: TrainBuild | "auto"; kernels?: TrainKernels; trainable?: string[] }) {
    checkPositiveInt(opts.maxBatch, "maxBatch");
    spec.input.forEach((d, i) => checkPositiveInt(d, `input[${i}]`));
    this.spec = spec;
    this.maxBatch = opts.maxBatch;
    this.kernels = opts.kernels ?? new TrainKernels(opts.build ?? "auto");
    const K = this.kernels;
    // Shapes and parameter layout first, then one allocation per block.
    let shape = spec.input.slice();
    let offset = 0;
    const pending: Array<(paramPtr: number, gradPtr: number) => LayerImpl> = [];
    spec.layers.forEach((ls, li) => {
      const made = this.planLayer(ls, li, shape, offset);
      offset += made.params.reduce((a, p) => a + p.count, 0);
      this.params.push(...made.params);
      shape = made.outShape;
      pending.push(made.build);
    });
    this.paramCount = offset;
    const wanted = opts.trainable ? new Set(opts.trainable) : null;
    if (wanted) {
      const known = new Set(this.params.map((p) => p.name));
      for (const n of wanted) if (!known.has(n)) throw new InvalidArgumentError(`unknown parameter '${n}' (have: ${[...known].join(", ")})`);
    }
    let g = 0;
    for (const p of this.params) {
      if (wanted && !wanted.has(p.name)) continue;
      p.gradOffset = g;
      g += p.count;
    }
    this.gradCount = g;
    this.paramPtr = K.allocF32(Math.max(offset, 1));
    this.gradPtr = K.allocF32(Math.max(g, 1));
    for (const b of pending) this.layers.push(b(this.paramPtr, this.gradPtr));
    this.inputSize = prod(spec.input);
    this.acts.push(K.allocF32(this.maxBatch * this.inputSize));
    // A real buffer even though nothing reads it, so a leading flatten never aliases address 0.
    this.dActs.push(K.allocF32(this.maxBatch * this.inputSize));
    for (const l of this.layers) {
      const size = this.maxBatch * prod(l.outShape);
      if (l.aliasesInput) {
        this.acts.push(this.acts[this.acts.length - 1]);
        this.dActs.push(this.dActs[this.dActs.length - 1]);
      } else {
        this.acts.push(K.allocF32(size));
        this.dActs.push(K.allocF32(size));
      }
    }
    this.outputSize = prod(shape);
    this.labelsPtr = K.allocI32(this.maxBatch);
    this.initialize(opts.seed ?? 1);
  }

  get outputShape(): number[] { return this.layers.length ? this.layers[this.layers.length - 1].outShape : this.spec.input; }

  /** He-normal weights (fan-in, suited to ReLU), zero biases, deterministic from the seed. */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    const all = this.kernels.f32(this.paramPtr, this.paramCount);
    for (const l of this.layers) {
      for (const p of l.params) {
        const v = all.subarray(p.offset, p.offset + p.count);
        if (p.name.endsWith(".bias")) { v.fill(0); continue; }
        const std = Math.sqrt(2 / l.fanIn);
        for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
      }
    }
  }

  private planLayer(ls: LayerSpec, li: number, inShape: number[], offset: number):
    { params: ParamTensor[]; outShape: number[]; build: (pp: number, gp: number) => LayerImpl } {
    const K = this.kernels;
    const name = `layers[${li}]`;
    const needImage = () => {
      if (inShape.length !== 3) throw new InvalidArgumentError(`${name} (${ls.type}) needs an [H, W, C] input, got [${inShape}]`);
    };
    const activation: Activation = "activation" in ls && ls.activation ? ls.activation : "none";
    if (activation !== "relu" && activation !== "none") throw new InvalidArgumentError(`${name}: unknown activation '${activation}'`);
    const kx = this.kernels.k;
    switch (ls.type) {
      case "conv2d":
      case "depthwise": {
        needImage();
        const [kh, kw] = pair(ls.kernel, 1), [sh, sw] = pair(ls.stride, 1);
        [kh, kw, sh, sw].forEach((v) => checkPositiveInt(v, `${name} kernel/stride`));
        const [h, w, c] = inShape;
        const g = windowGeometry(this.maxBatch, h, w, c, kh, kw, sh, sw, ls.padding ?? "same");
        const isConv = ls.type === "conv2d";
        const m = isConv ? 1 : (ls as { multiplier?: number }).multiplier ?? 1;
        const o = isConv ? (ls as { filters: number }).filters : c * m;
        checkPositiveInt(o, `${name} output channels`);
        const wShape = isConv ? [o, kh, kw, c] : [1, kh, kw, o];
        const params: ParamTensor[] = [
          { name: `${name}.weight`, shape: wShape, offset, count: prod(wShape), gradOffset: -1 },
          { name: `${name}.bias`, shape: [o], offset: offset + prod(wShape), count: o, gradOffset: -1 },
        ];
        const outShape = [g.oh, g.ow, o];
        const block = K.convBlock(g, isConv ? o : m);
        // conv2d's weights in HWIO order / its per-call weight gradient (assembly/train/conv.ts)
        const scratch = isConv ? K.allocF32(prod(wShape)) : 0;
        const fanIn = isConv ? kh * kw * c : kh * kw;
        return {
          params, outShape, build: (pp, gp) => {
            const [wp, bp] = params.map((p) => pp + 4 * p.offset);
            const [dwp, dbp] = params.map((p) => (p.gradOffset >= 0 ? gp + 4 * p.gradOffset : 0));
            return {
              spec: ls, inShape, outShape, activation, aliasesInput: false, params, fanIn,
              forward: (x, y, n) => {
                K.setBatch(block, n);
                if (isConv) kx.conv2dForward(block, x, wp, bp, y, scratch);
                else kx.depthwiseForward(block, x, wp, bp, y);
              },
              backward: (x, dy, dx, n) => {
                K.setBatch(block, n);
                if (isConv) kx.conv2dBackward(block, x, wp, dy, dx, dwp, dbp, scratch);
                else kx.depthwiseBackward(block, x, wp, dy, dx, dwp, dbp);
              },
            };
          },
        };
      }
      case "avgpool":
      case "maxpool": {
        needImage();
        const [kh, kw] = pair(ls.pool, 2), [sh, sw] = pair(ls.stride, kh === kw ? kh : 1);
        [kh, kw, sh, sw].forEach((v) => checkPositiveInt(v, `${name} pool/stride`));
        const [h, w, c] = inShape;
        const g: WindowGeometry = windowGeometry(this.maxBatch, h, w, c, kh, kw, sh, sw, ls.padding ?? "valid");
        const outShape = [g.oh, g.ow, c];
        const block = K.poolBlock(g);
        const isAvg = ls.type === "avgpool";
        return {
          params: [], outShape, build: () => ({
            spec: ls, inShape, outShape, activation, aliasesInput: false, params: [], fanIn: 1,
            forward: (x, y, n) => { K.setBatch(block, n); (isAvg ? kx.avgPoolForward : kx.maxPoolForward)(block, x, y); },
            backward: (x, dy, dx, n) => {
              if (dx === 0) return;
              K.setBatch(block, n);
              if (isAvg) kx.avgPoolBackward(block, dy, dx); else kx.maxPoolBackward(block, x, dy, dx);
            },
          }),
        };
      }
      case "flatten": {
        const outShape = [prod(inShape)];
        return {
          params: [], outShape, build: () => ({
            spec: ls, inShape, outShape, activation, aliasesInput: true, params: [], fanIn: 1,
            forward: () => {}, backward: () => {},
          }),
        };
      }
      case "dense": {
        if (inShape.length !== 1) throw new InvalidArgumentError(`${name} (dense) needs a flat input: add { type: "flatten" } before it`);
        checkPositiveInt(ls.units, `${name} units`);
        const inDim = inShape[0], outDim = ls.units;
        const params: ParamTensor[] = [
          { name: `${name}.weight`, shape: [outDim, inDim], offset, count: outDim * inDim, gradOffset: -1 },
          { name: `${name}.bias`, shape: [outDim], offset: offset + outDim * inDim, count: outDim, gradOffset: -1 },
        ];
        return {
          params, outShape: [outDim], build: (pp, gp) => {
            const [wp, bp] = params.map((p) => pp + 4 * p.offset);
            const [dwp, dbp] = params.map((p) => (p.gradOffset >= 0 ? gp + 4 * p.gradOffset : 0));
            return {
              spec: ls, inShape, outShape: [outDim], activation, aliasesInput: false, params, fanIn: inDim,
              forward: (x, y, n) => kx.denseForward(x, wp, bp, y, n, inDim, outDim),
              backward: (x, dy, dx, n) => kx.denseBackward(x, wp, dy, dx, dwp, dbp, n, inDim, outDim),
            };
          },
        };
      }
      default:
        throw new InvalidArgumentError(`${name}: unknown layer type '${(ls as { type: string }).type}'`);
    }
  }

  private checkBatch(n: number): void {
    if (!Number.isInteger(n) || n <= 0 || n > this.maxBatch) {
      throw new InvalidArgumentError(`batch size ${n} outside 1..${this.maxBatch}`);
    }
  }

  /** Copy n samples (n * inputSize floats) into the input buffer. */
  setInput(x: ArrayLike<number>, n: number): void {
    this.checkBatch(n);
    if (x.length < n * this.inputSize) throw new InvalidArgumentError(`input has ${x.length} values, need ${n * this.inputSize}`);
    this.kernels.f32(this.acts[0], n * this.inputSize).set(firstValues(x, n * this.inputSize));
  }

  /** Forward pass over the n samples in the input buffer; returns a view of the outputs. */
  forward(n: number): Float32Array {
    this.checkBatch(n);
    const kx = this.kernels.k;
    this.layers.forEach((l, i) => {
      const x = this.acts[i], y = this.acts[i + 1];
      l.forward(x, y, n);
      if (l.activation === "relu") kx.reluForward(y, y, n * prod(l.outShape));
    });
    return this.kernels.f32(this.acts[this.layers.length], n * this.outputSize);
  }

  /** Output of layer i (after its activation) for the last forward pass. */
  activation(i: number, n: number): Float32Array {
    return this.kernels.f32(this.acts[i + 1], n * prod(this.layers[i].outShape));
  }

  zeroGrad(): void { this.kernels.f32(this.gradPtr, this.gradCount).fill(0); }

  /** Backward pass; dActs[last] must hold d loss / d output. Gradients accumulate. */
  backward(n: number): void {
    this.checkBatch(n);
    const kx = this.kernels.k;
    const hasGrad = (l: LayerImpl) => l.params.some((p) => p.gradOffset >= 0);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      // Nothing at or below this layer gets a gradient: done.
      if (!this.layers.slice(0, i + 1).some(hasGrad)) break;
      const l = this.layers[i];
      const y = this.acts[i + 1], dy = this.dActs[i + 1];
      if (l.activation === "relu") kx.reluBackward(y, dy, dy, n * prod(l.outShape));
      // Layers before the first one with gradients need no input gradient.
      const needDx = i > 0 && this.layers.slice(0, i).some(hasGrad);
      l.backward(this.acts[i], dy, needDx ? this.dActs[i] : 0, n);
    }
  }

  /** Softmax cross-entropy on the last forward output; writes d loss / d logits and returns the mean loss. */
  softmaxCrossEntropy(labels: ArrayLike<number>, n: number): number {
    this.checkBatch(n);
    const k = this.outputSize;
    const lab = this.kernels.i32(this.labelsPtr, n);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= k) throw new InvalidArgumentError(`label ${c} at ${i} outside 0..${k - 1}`);
      lab[i] = c;
    }
    const last = this.layers.length;
    return this.kernels.k.softmaxCrossEntropy(this.acts[last], this.labelsPtr, 0, this.dActs[last], n, k);
  }

  /** Allocate the target buffer of meanSquaredError now (it is otherwise made on first use). */
  reserveTarget(): void {
    if (this.targetPtr === 0) this.targetPtr = this.kernels.allocF32(this.maxBatch * this.outputSize);
  }

  /** Mean squared error against target (n * outputSize floats); writes the output gradient. */
  meanSquaredError(target: ArrayLike<number>, n: number): number {
    this.checkBatch(n);
    const count = n * this.outputSize;
    if (target.length < count) throw new InvalidArgumentError(`target has ${target.length} values, need ${count}`);
    this.reserveTarget();
    const tp = this.targetPtr;
    this.kernels.f32(tp, count).set(firstValues(target, count));
    const last = this.layers.length;
    return this.kernels.k.meanSquaredError(this.acts[last], tp, this.dActs[last], count);
  }

  /** Copy of each parameter tensor's values, by name. */
  getWeights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const all = this.kernels.f32(this.paramPtr, this.paramCount);
    for (const p of this.params) out.set(p.name, all.slice(p.offset, p.offset + p.count));
    return out;
  }

  setWeights(weights: Map<string, ArrayLike<number>>): void {
    const all = this.kernels.f32(this.paramPtr, this.paramCount);
    for (const p of this.params) {
      const v = weights.get(p.name);
      if (!v) continue;
      if (v.length !== p.count) throw new InvalidArgumentError(`${p.name}: ${v.length} values, expected ${p.count}`);
      all.set(v, p.offset);
    }
  }

  /** Copy of each gradient, by name (parameters that get gradients only). */
  gradients(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const all = this.kernels.f32(this.gradPtr, this.gradCount);
    for (const p of this.params) if (p.gradOffset >= 0) out.set(p.name, all.slice(p.gradOffset, p.gradOffset + p.count));
    return out;
  }
}
