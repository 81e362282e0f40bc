// A loaded model: one kernel instance, weights resident, one arena, a pre-encoded program.
// invoke() is a single call into wasm; inputs and outputs are zero-copy views of the arena.
import { InvalidArgumentError, MemoryBudgetError } from "../errors.js";
import { TensorType, type ModelGraph, type Tensor } from "../model/types.js";
import { instantiateKernels, type KernelBuild, type KernelChoice, type KernelInstance } from "../wasm/kernels.js";
import { componentKernelsReady, instantiateComponentKernels, placeWithEngine, type ComponentKernelInstance } from "../wasm/component.js";
import { compileGraph, type ArenaEntry, type CompiledProgram } from "./compile.js";
import { createTrainer, type Trainer, type TrainerOptions } from "../train/trainer.js";

/** Typed view of a tensor's storage (by tensor type; INT64 and other types get a raw byte view). */
export type TensorView = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

export interface LoadOptions {
  /** Kernel build: "auto" (default) picks relaxed > simd > scalar among those this engine validates. */
  kernels?: KernelChoice;
  /** Cap on the kernel instance's linear memory (e.g. a board's RAM budget). */
  maxMemoryBytes?: number;
  /**
   * How the kernels are instantiated: "component" (the WASI component through jco's bindings,
   * typed WIT calls for loading, the core export for invoke; default of the async loadModel when
   * the components are built) or "core" (the plain core module; what loadModelSync uses).
   */
  instantiation?: "component" | "core";
  /**
   * Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions: bit-identical results with 16 instead of
   * 36 multiplies per 2x2 outputs, at the cost of int16 transformed weights (32/9 the bytes of
   * those layers' int8 weights). Default: on, and turned off again when it alone would break
   * maxMemoryBytes.
   */
  winograd?: boolean;
  /**
   * One level of Strassen's algorithm for large batched FULLY_CONNECTED (GEMM-shaped layers whose
   * batch, depth and output counts split evenly): bit-identical results with 7/8 of the
   * multiplies, at the cost of int16 weight sums (7/4 the bytes of the int16 batched layout).
   * Default: on, and turned off again, like Winograd, when it would break maxMemoryBytes.
   */
  strassen?: boolean;
}

export interface MemoryReport {
  /** Activations (one planned block, incl. op scratch). */
  arenaBytes: number;
  /** Constant data resident in linear memory (weights, biases, multipliers, packed layouts). */
  weightBytes: number;
  /** Variable tensors (e.g. LSTM state) kept across invokes. */
  persistentBytes: number;
  /** Encoded op blocks. */
  programBytes: number;
  /** Total size of the kernel instance's linear memory. */
  wasmMemoryBytes: number;
}

export interface TensorInfo {
  index: number;
  name: string;
  type: number;
  typeName: string;
  shape: number[];
  byteLength: number;
  scale: number | null;
  zeroPoint: number | null;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(TensorType).map(([k, v]) => [v, k.toLowerCase()]));

export function tensorInfo(t: Tensor): TensorInfo {
  return {
    index: t.index, name: t.name, type: t.type, typeName: TYPE_NAMES[t.type] ?? `type${t.type}`,
    shape: [...t.shape], byteLength: t.byteLength,
    scale: t.quantization?.scale.length ? t.quantization.scale[0] : null,
    zeroPoint: t.quantization?.zeroPoint.length ? t.quantization.zeroPoint[0] : null,
  };
}

function viewOf(buffer: ArrayBuffer, t: Tensor, addr: number): TensorView {
  const n = t.byteLength;
  switch (t.type) {
    case TensorType.INT8: return new Int8Array(buffer, addr, n);
    case TensorType.UINT8: case TensorType.BOOL: return new Uint8Array(buffer, addr, n);
    case TensorType.INT16: return new Int16Array(buffer, addr, n / 2);
    case TensorType.INT32: return new Int32Array(buffer, addr, n / 4);
    case TensorType.FLOAT32: return new Float32Array(buffer, addr, n / 4);
    default: return new Uint8Array(buffer, addr, n);
  }
}

export class Model {
  readonly kernels: KernelBuild;
  readonly memory: MemoryReport;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  private readonly k: KernelInstance;
  private readonly programAddr: number;
  private readonly blockCount: number;
  private readonly opStarts: number[];
  private readonly opBlockCounts: number[];
  private readonly resetAddr: number;
  private readonly resetCount: number;
  private readonly inputViews: TensorView[];
  private readonly outputViews: TensorView[];
  private readonly tensorAddr: (number | null)[];

  /** How the kernels were instantiated. */
  readonly instantiation: "component" | "core";

  constructor(readonly graph: ModelGraph, readonly compiled: CompiledProgram, opts: LoadOptions = {}, instance?: KernelInstance) {
    this.k = instance ?? instantiateKernels(opts.kernels ?? "auto");
    this.instantiation = "engine" in this.k ? "component" : "core";
    this.kernels = this.k.build;
    const base = Math.ceil(this.k.exports.heapBase() / 16) * 16;
    const enc = compiled.encode(base);
    const programAddr = base + compiled.layout.program;
    const resetAddr = programAddr + enc.program.byteLength;
    const end = resetAddr + enc.reset.byteLength;
    const pages = Math.ceil(end / 65536);
    const memBytes = pages * 65536;
    if (opts.maxMemoryBytes !== undefined && memBytes > opts.maxMemoryBytes) {
      throw new MemoryBudgetError(memBytes, opts.maxMemoryBytes, "the model's kernel memory");
    }
    if (this.instantiation === "component") {
      // Weights cross the component boundary once (load-weights); the arena follows them.
      placeWithEngine(this.k as ComponentKernelInstance, base, compiled.weightsImage, end - base - compiled.weightsImage.byteLength, memBytes);
    } else {
      const have = this.k.memory.buffer.byteLength / 65536;
      if (pages > have) {
        try { this.k.memory.grow(pages - have); } catch {
          throw new MemoryBudgetError(memBytes, this.k.memory.buffer.byteLength, "growing the kernel memory");
        }
      }
      new Uint8Array(this.k.memory.buffer, base + compiled.layout.weights, compiled.weightsImage.byteLength).set(compiled.weightsImage);
    }
    const buf = this.k.memory.buffer;
    new Int32Array(buf, programAddr, enc.program.length).set(enc.program);
    new Int32Array(buf, resetAddr, enc.reset.length).set(enc.reset);
    this.programAddr = programAddr;
    this.opStarts = enc.opStarts.map((s) => programAddr + s);
    this.opBlockCounts = enc.opBlockCounts;
    this.blockCount = enc.opBlockCounts.reduce((a, b) => a + b, 0);
    this.resetAddr = resetAddr;
    this.resetCount = enc.reset.length / 6;
    this.memory = {
      arenaBytes: compiled.arenaBytes,
      weightBytes: compiled.weightBytes,
      persistentBytes: compiled.persistentBytes,
      programBytes: enc.program.byteLength + enc.reset.byteLength,
      wasmMemoryBytes: buf.byteLength,
    };
    const layout = compiled.layout;
    this.tensorAddr = compiled.homes.map((h) =>
      h.kind === "arena" ? base + layout.arena + h.offset
        : h.kind === "persistent" ? base + layout.persistent + h.offset
          : h.kind === "weights" ? base + layout.weights + h.offset : null);
    this.inputs = graph.inputs.map((t) => tensorInfo(graph.tensors[t]));
    this.outputs = graph.outputs.map((t) => tensorInfo(graph.tensors[t]));
    this.inputViews = graph.inputs.map((t) => this.viewTensor(t)!);
    this.outputViews = graph.outputs.map((t) => this.viewTensor(t)!);
    this.reset();
  }

  private viewTensor(t: number): TensorView | null {
    const a = this.tensorAddr[t];
    return a === null ? null : viewOf(this.k.memory.buffer, this.graph.tensors[t], a);
  }

  /** Zero-copy view of graph input i: write the input here before invoke(). Not preserved across invoke(). */
  input(i = 0): TensorView {
    const v = this.inputViews[i];
    if (!v) throw new InvalidArgumentError(`input ${i} does not exist (the model has ${this.inputViews.length})`);
    return v;
  }

  /** Zero-copy view of graph output i, valid until the next invoke(). */
  output(i = 0): TensorView {
    const v = this.outputViews[i];
    if (!v) throw new InvalidArgumentError(`output ${i} does not exist (the model has ${this.outputViews.length})`);
    return v;
  }

  /** Run the whole graph: one call into the kernel module, no allocation. */
  invoke(): void {
    this.k.exports.run(this.programAddr, this.blockCount);
  }

  /**
   * Run operator by operator, calling `afterOp(i)` after each; `tensor(t)` then shows any
   * activation (used to compare layer by layer with reference dumps).
   */
  invokeStepwise(afterOp: (opIndex: number) => void): void {
    for (let i = 0; i < this.opStarts.length; i++) {
      if (this.opBlockCounts[i] > 0) this.k.exports.run(this.opStarts[i], this.opBlockCounts[i]);
      afterOp(i);
    }
  }

  /** Current contents of tensor `t` (a view; null if the tensor has no storage). */
  tensor(t: number): TensorView | null {
    if (t < 0 || t >= this.graph.tensors.length) throw new InvalidArgumentError(`tensor ${t} does not exist`);
    return this.viewTensor(t);
  }

  /** Reset variable tensors (e.g. LSTM state) to their initial values. */
  reset(): void {
    if (this.resetCount > 0) this.k.exports.run(this.resetAddr, this.resetCount);
  }

  /** A fine-tuning session on this model (host/train/README.md). */
  trainer(opts: TrainerOptions = {}): Trainer {
    return createTrainer(this, opts);
  }

  /**
   * From now on run `other` (same inputs and outputs), e.g. a fine-tuned copy committed by a
   * trainer. Views from input() / output() / tensor() taken before are stale afterwards.
   */
  replaceWith(other: Model): void {
    const sig = (m: Model) => JSON.stringify([m.inputs, m.outputs].map((l) => l.map((t) => [t.type, t.shape, t.scale, t.zeroPoint])));
    if (sig(other) !== sig(this)) throw new InvalidArgumentError("replaceWith: the other model's inputs / outputs differ from this one's");
    Object.assign(this, other);
  }

  /** The arena plan: one entry per buffer (tensors sharing it, offset, size, live op range). */
  get arenaPlan(): readonly ArenaEntry[] {
    return this.compiled.arena;
  }
}

export function createModel(graph: ModelGraph, opts: LoadOptions = {}): Model {
  if (opts.instantiation === "component") {
    throw new InvalidArgumentError("the component instantiation is asynchronous: use loadModel, or instantiation: 'core'");
  }
  checkInstantiation(opts);
  return withMemoryFallback(graph, opts, instantiateKernels(opts.kernels ?? "auto"));
}

/**
 * Compile and load. Winograd and Strassen (more weight bytes for fewer multiplies) are on unless
 * opts say otherwise; when one was only on by default and the model then misses
 * maxMemoryBytes, the program without those defaults is tried before giving up.
 */
function withMemoryFallback(graph: ModelGraph, opts: LoadOptions, instance: KernelInstance): Model {
  const fast = { winograd: opts.winograd ?? true, strassen: opts.strassen ?? true };
  try {
    return new Model(graph, compileGraph(graph, fast), opts, instance);
  } catch (e) {
    const lean = { winograd: opts.winograd ?? false, strassen: opts.strassen ?? false };
    if (!(e instanceof MemoryBudgetError) || (lean.winograd === fast.winograd && lean.strassen === fast.strassen)) throw e;
    return new Model(graph, compileGraph(graph, lean), opts, instance);
  }
}

function checkInstantiation(opts: LoadOptions): LoadOptions {
  const i = opts.instantiation;
  if (i !== undefined && i !== "component" && i !== "core") {
    throw new InvalidArgumentError(`unknown instantiation '${i}' (expected component or core)`);
  }
  return opts;
}

/** As createModel, through the kernel component by default (plain core if it is not built, with a warning). */
export async function createModelAsync(graph: ModelGraph, opts: LoadOptions = {}): Promise<Model> {
  const mode = checkInstantiation(opts).instantiation ?? (componentKernelsReady() ? "component" : "core");
  const instance = mode === "core"
    ? instantiateKernels(opts.kernels ?? "auto")
    : await instantiateComponentKernels(opts.kernels ?? "auto");
  return withMemoryFallback(graph, opts, instance);
}
