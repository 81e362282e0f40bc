// The memory a fine-tuning run will use, computed from the plan before anything is allocated, so
// an over-budget run fails with MemoryBudgetError instead of running out of memory part way.
// The figures mirror, allocation by allocation, what Sequential (model.ts), the optimizers
// (optimizers.ts) and the trainer allocate in the training module's linear memory (16-byte
// aligned bump allocation), plus the trainer's host-side buffers; a test checks that the plan
// equals what the allocator actually handed out.
import { windowGeometry } from "./kernels.js";
import type { ModelSpec, LayerSpec } from "./model.js";

export interface MemoryPlan {
  /** Static data of the training module (everything below its heap base). */
  moduleBytes: number;
  /** f32 copies ("shadow weights") of every weight and bias in the trained section. */
  parameterBytes: number;
  /** Gradients of the trainable values (frozen tensors get none). */
  gradientBytes: number;
  /** Optimizer state (Adam: two moments per trainable value; SGD: velocity if momentum > 0). */
  optimizerBytes: number;
  /** f32 activations of the section and their gradients, for one batch. */
  activationBytes: number;
  /** Geometry blocks, conv weight scratch, labels, regression targets and alignment padding. */
  workspaceBytes: number;
  /** Host-side buffers of the trainer (batch labels and targets, one feature row). */
  hostBytes: number;
  /** int8 features of the frozen prefix cached for every training sample (0 when not cached). */
  featureCacheBytes: number;
  /** Sum of the above. */
  totalBytes: number;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;

type Kind = "parameterBytes" | "gradientBytes" | "optimizerBytes" | "activationBytes" | "workspaceBytes";

/** Replays the bump allocator of TrainKernels: each block starts 16-byte aligned. */
class AllocationReplay {
  next: number;
  readonly by: Record<Kind, number> = { parameterBytes: 0, gradientBytes: 0, optimizerBytes: 0, activationBytes: 0, workspaceBytes: 0 };
  constructor(readonly heapBase: number) {
    this.next = (heapBase + 15) & ~15;
    this.by.workspaceBytes = this.next - heapBase;
  }
  alloc(bytes: number, kind: Kind): void {
    const addr = (this.next + 15) & ~15;
    this.by.workspaceBytes += addr - this.next;
    this.by[kind] += bytes;
    this.next = addr + bytes;
  }
}

export interface PlanInput {
  spec: ModelSpec;
  maxBatch: number;
  /** Heap base of the training module (TrainKernels.k.heapBase()). */
  heapBase: number;
  optimizer: { name: "adam" | "sgd"; momentum?: number };
  /** Number of trainable values (what the optimizer keeps state for). */
  trainableValues: number;
  /** The loss needs a target buffer in the module (mean squared error). */
  mseTargets: boolean;
  /** Size of one sample's section input (int8 values, also the feature cache row). */
  featureSize: number;
  /** Training samples whose features will be cached (0: none). */
  cachedSamples?: number;
}

/** Output shape of each layer for the given per-sample input shape. */
function layerShapes(spec: ModelSpec, maxBatch: number): { spec: LayerSpec; out: number[]; weights: number[] | null; params: number }[] {
  let shape = spec.input.slice();
  return spec.layers.map((ls) => {
    let out: number[], weights: number[] | null = null, params = 0;
    switch (ls.type) {
      case "conv2d":
      case "depthwise": {
        const [kh, kw] = pair(ls.kernel, 1), [sh, sw] = pair(ls.stride, 1);
        const g = windowGeometry(maxBatch, shape[0], shape[1], shape[2], kh, kw, sh, sw, ls.padding ?? "same");
        const o = ls.type === "conv2d" ? ls.filters : shape[2] * (ls.multiplier ?? 1);
        weights = ls.type === "conv2d" ? [o, kh, kw, shape[2]] : [1, kh, kw, o];
        params = prod(weights) + o;
        out = [g.oh, g.ow, o];
        break;
      }
      case "avgpool":
      case "maxpool": {
        const [kh, kw] = pair(ls.pool, 2), [sh, sw] = pair(ls.stride, kh === kw ? kh : 1);
        const g = windowGeometry(maxBatch, shape[0], shape[1], shape[2], kh, kw, sh, sw, ls.padding ?? "valid");
        out = [g.oh, g.ow, shape[2]];
        break;
      }
      case "flatten": out = [prod(shape)]; break;
      case "dense": params = shape[0] * ls.units + ls.units; out = [ls.units]; break;
    }
    shape = out;
    return { spec: ls, out, weights, params };
  });
}

/** The planned memory of a trainer, in the order the allocations happen. */
export function planMemory(p: PlanInput): MemoryPlan {
  const B = p.maxBatch;
  const a = new AllocationReplay(p.heapBase);
  const layers = layerShapes(p.spec, B);
  // Sequential: per-layer geometry blocks and conv scratch, then parameters, gradients,
  // activations with their gradients, labels.
  for (const l of layers) {
    if (l.spec.type === "conv2d" || l.spec.type === "depthwise") {
      a.alloc(13 * 4, "workspaceBytes");
      if (l.spec.type === "conv2d") a.alloc(prod(l.weights!) * 4, "workspaceBytes");
    } else if (l.spec.type === "avgpool" || l.spec.type === "maxpool") {
      a.alloc(12 * 4, "workspaceBytes");
    }
  }
  const paramCount = layers.reduce((s, l) => s + l.params, 0);
  a.alloc(Math.max(paramCount, 1) * 4, "parameterBytes");
  a.alloc(Math.max(p.trainableValues, 1) * 4, "gradientBytes");
  const inputSize = prod(p.spec.input);
  a.alloc(B * inputSize * 4, "activationBytes");
  a.alloc(B * inputSize * 4, "activationBytes");
  for (const l of layers) {
    if (l.spec.type === "flatten") continue;
    a.alloc(B * prod(l.out) * 4, "activationBytes");
    a.alloc(B * prod(l.out) * 4, "activationBytes");
  }
  a.alloc(B * 4, "workspaceBytes");
  // Optimizer state, compact over the trainable values.
  const slots = p.optimizer.name === "adam" ? 2 : (p.optimizer.momentum ?? 0) > 0 ? 1 : 0;
  for (let s = 0; s < slots; s++) a.alloc(Math.max(p.trainableValues, 1) * 4, "optimizerBytes");
  const outputSize = layers.length ? prod(layers[layers.length - 1].out) : inputSize;
  if (p.mseTargets) a.alloc(B * outputSize * 4, "workspaceBytes");

  // Host: batch labels (Int32Array), batch targets (Float32Array), one int8 feature row.
  const hostBytes = B * 4 + B * outputSize * 4 + p.featureSize;
  const featureCacheBytes = (p.cachedSamples ?? 0) * p.featureSize;
  const moduleBytes = p.heapBase;
  const totalBytes = a.next + hostBytes + featureCacheBytes;
  return { moduleBytes, ...a.by, hostBytes, featureCacheBytes, totalBytes };
}

/** One line per category, for error messages and reports. */
export function describePlan(m: MemoryPlan): string {
  const parts: [string, number][] = [
    ["f32 weights", m.parameterBytes], ["gradients", m.gradientBytes], ["optimizer state", m.optimizerBytes],
    ["activations", m.activationBytes], ["workspace", m.workspaceBytes], ["training module", m.moduleBytes],
    ["host buffers", m.hostBytes], ["feature cache", m.featureCacheBytes],
  ];
  return parts.filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v} B`).join(", ");
}
