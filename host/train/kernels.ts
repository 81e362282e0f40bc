// Loading the f32 training module (dist/wasm/train-{scalar,simd}.wasm) and laying out buffers in
// its memory. The module exports plain pointer functions (assembly/train/index.ts); this file
// gives them typed wrappers and a bump allocator. All buffers live for the instance's lifetime.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, KernelBuildError } from "../errors.js";
import { wasmDir } from "../wasm/kernels.js";
import { outSize, padBefore } from "../runtime/quant.js";
import { Padding } from "../model/types.js";

export type TrainBuild = "scalar" | "simd";
export const TRAIN_BUILDS: readonly TrainBuild[] = ["scalar", "simd"];

interface TrainExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  features(): number;
  denseForward(x: number, w: number, b: number, y: number, n: number, inDim: number, outDim: number): void;
  denseBackward(x: number, w: number, dy: number, dx: number, dw: number, db: number, n: number, inDim: number, outDim: number): void;
  conv2dForward(g: number, x: number, w: number, b: number, y: number, scratch: number): void;
  conv2dBackward(g: number, x: number, w: number, dy: number, dx: number, dw: number, db: number, scratch: number): void;
  depthwiseForward(g: number, x: number, w: number, b: number, y: number): void;
  depthwiseBackward(g: number, x: number, w: number, dy: number, dx: number, dw: number, db: number): void;
  avgPoolForward(g: number, x: number, y: number): void;
  avgPoolBackward(g: number, dy: number, dx: number): void;
  maxPoolForward(g: number, x: number, y: number): void;
  maxPoolBackward(g: number, x: number, dy: number, dx: number): void;
  reluForward(x: number, y: number, n: number): void;
  reluBackward(y: number, dy: number, dx: number, n: number): void;
  softmaxCrossEntropy(logits: number, labels: number, probs: number, dlogits: number, n: number, k: number): number;
  meanSquaredError(pred: number, target: number, dpred: number, count: number): number;
  sgdStep(w: number, g: number, v: number, count: number, lr: number, momentum: number, weightDecay: number): void;
  adamStep(w: number, g: number, m: number, v: number, count: number, lr: number, beta1: number, beta2: number, c1: number, c2: number, eps: number, bc1: number, bc2: number): void;
}

const moduleCache = new Map<TrainBuild, WebAssembly.Module>();

function trainBytes(build: TrainBuild): Uint8Array<ArrayBuffer> {
  const file = join(wasmDir(), `train-${build}.wasm`);
  if (!existsSync(file)) throw new KernelBuildError(`training kernels not found (${file}): run \`npm run build:wasm\``);
  return new Uint8Array(readFileSync(file));
}

function compiled(build: TrainBuild): WebAssembly.Module {
  let m = moduleCache.get(build);
  if (!m) {
    const bytes = trainBytes(build);
    if (!WebAssembly.validate(bytes)) {
      throw new KernelBuildError(`training build '${build}' is not supported by this WebAssembly engine`);
    }
    m = new WebAssembly.Module(bytes);
    moduleCache.set(build, m);
  }
  return m;
}

/** Builds this engine can run; "auto" prefers SIMD. */
export function chooseTrainBuild(choice: TrainBuild | "auto" = "auto"): TrainBuild {
  if (choice === "auto") {
    try { compiled("simd"); return "simd"; } catch { return "scalar"; }
  }
  if (!TRAIN_BUILDS.includes(choice)) {
    throw new InvalidArgumentError(`unknown training build '${choice}' (expected auto, scalar or simd)`);
  }
  return choice;
}

/** Geometry of a convolution / depthwise / pooling layer, NHWC, dilation 1. */
export interface WindowGeometry {
  n: number; h: number; w: number; c: number;
  oh: number; ow: number;
  kh: number; kw: number; strideH: number; strideW: number;
  padTop: number; padLeft: number;
}

/** Output size and padding for one window op with TFLite's SAME / VALID rules. */
export function windowGeometry(
  n: number, h: number, w: number, c: number, kh: number, kw: number,
  strideH: number, strideW: number, padding: "same" | "valid",
): WindowGeometry {
  const pad = padding === "same" ? Padding.SAME : Padding.VALID;
  const oh = outSize(pad, h, kh, strideH, 1), ow = outSize(pad, w, kw, strideW, 1);
  if (oh <= 0 || ow <= 0) {
    throw new InvalidArgumentError(`window ${kh}x${kw} stride ${strideH}x${strideW} (${padding}) does not fit input ${h}x${w}`);
  }
  return {
    n, h, w, c, oh, ow, kh, kw, strideH, strideW,
    padTop: padBefore(pad, h, kh, strideH, 1), padLeft: padBefore(pad, w, kw, strideW, 1),
  };
}

/** One instance of the training module with its own memory and a bump allocator. */
export class TrainKernels {
  readonly build: TrainBuild;
  readonly k: TrainExports;
  private next: number;

  constructor(build: TrainBuild | "auto" = "auto") {
    this.build = chooseTrainBuild(build);
    this.k = new WebAssembly.Instance(compiled(this.build), {}).exports as unknown as TrainExports;
    this.next = (this.k.heapBase() + 15) & ~15;
  }

  get memory(): WebAssembly.Memory { return this.k.memory; }

  /** Bytes of linear memory handed out so far. */
  get usedBytes(): number { return this.next; }

  /** Allocate `bytes` (16-byte aligned, zeroed: memory is fresh and never reused). */
  allocBytes(bytes: number): number {
    const addr = (this.next + 15) & ~15;
    this.next = addr + bytes;
    const need = this.next - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return addr;
  }
  allocF32(count: number): number { return this.allocBytes(count * 4); }
  allocI32(count: number): number { return this.allocBytes(count * 4); }

  /** A fresh view (views detach when memory grows, so never keep one across allocations). */
  f32(ptr: number, count: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, count); }
  i32(ptr: number, count: number): Int32Array { return new Int32Array(this.memory.buffer, ptr, count); }

  putF32(data: ArrayLike<number>): number {
    const p = this.allocF32(data.length);
    this.f32(p, data.length).set(data);
    return p;
  }

  /** Write a conv / depthwise geometry block; `channels` is O for conv, the multiplier for depthwise. */
  convBlock(g: WindowGeometry, channels: number): number {
    const p = this.allocI32(13);
    this.i32(p, 13).set([g.n, g.h, g.w, g.c, g.oh, g.ow, channels, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft]);
    return p;
  }

  poolBlock(g: WindowGeometry): number {
    const p = this.allocI32(12);
    this.i32(p, 12).set([g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft]);
    return p;
  }

  /** Rewrite the batch size (word 0) of a geometry block. */
  setBatch(block: number, n: number): void { this.i32(block, 1)[0] = n; }
}
