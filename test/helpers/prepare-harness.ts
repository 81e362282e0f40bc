// Run one operator through its host prepare step and its kernel block(s), without a model file:
// hand-built Tensor / Operator objects, a small PrepareContext, and the KernelHarness memory.
//   const t = [tensor({ index: 0, ... }), ...];
//   const out = runOp("simd", prepareX, t, op({ inputs: [0, 1], outputs: [2], options }), { 0: bytes });
import { UnsupportedModelError } from "../../host/errors.js";
import type { ModelGraph, Operator, Quantization, Tensor } from "../../host/model/types.js";
import { TensorType } from "../../host/model/types.js";
import type { Addresses, BlobRef, OpPrepare, PrepareContext, PreparedOp, ScratchRef } from "../../host/runtime/ops/types.js";
import type { KernelBuild } from "../../host/wasm/kernels.js";
import { KernelHarness } from "./kernel-harness.js";

const ELEMENT_BYTES: Record<number, number> = {
  [TensorType.FLOAT32]: 4, [TensorType.INT32]: 4, [TensorType.INT8]: 1, [TensorType.INT16]: 2,
  [TensorType.UINT8]: 1,
};

export interface TensorSpec {
  index: number;
  type?: number;
  shape: number[];
  /** Constant contents (any typed array; its bytes are used). */
  data?: ArrayBufferView | null;
  scale?: number | number[];
  zeroPoint?: number | number[];
  quantizedDimension?: number;
}

export function tensor(s: TensorSpec): Tensor {
  const type = s.type ?? TensorType.INT8;
  const elems = s.shape.reduce((a, b) => a * b, 1);
  let quantization: Quantization | null = null;
  if (s.scale !== undefined) {
    const scale = Array.isArray(s.scale) ? s.scale : [s.scale];
    const zp = s.zeroPoint === undefined ? scale.map(() => 0) : Array.isArray(s.zeroPoint) ? s.zeroPoint : [s.zeroPoint];
    quantization = { scale, zeroPoint: zp, quantizedDimension: s.quantizedDimension ?? 0 };
  }
  const data = s.data ? new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength) : null;
  return {
    index: s.index, name: `t${s.index}`, type, shape: s.shape, data, quantization,
    isVariable: false, byteLength: elems * (ELEMENT_BYTES[type] ?? 1),
  };
}

export function op(o: { opcode?: number; opName?: string; version?: number; inputs: number[]; outputs: number[];
  options?: Operator["options"] }): Operator {
  return {
    index: 0, opcode: o.opcode ?? 0, opName: o.opName ?? "TEST_OP", version: o.version ?? 1,
    inputs: o.inputs, outputs: o.outputs, intermediates: [], options: o.options ?? {},
  };
}

/** Compile options an op's prepare sees (CompileOptions); Strassen defaults to on, as in loadModel. */
export interface CompileChoices { strassen?: boolean }

/** Build the PrepareContext that the executor would give, over a hand-made graph. */
export function prepareOp(prepare: OpPrepare, tensors: Tensor[], operator: Operator, compile: CompileChoices = {}): {
  prepared: PreparedOp; blobs: Uint8Array[]; scratch: number[];
} {
  const graph: ModelGraph = {
    version: 3, description: "test", tensors, operators: [operator], inputs: [], outputs: [], fileBytes: 0,
  };
  const where = `operators[0] (${operator.opName} v${operator.version})`;
  const blobs: Uint8Array[] = [];
  const scratch: number[] = [];
  const byIndex = (i: number) => {
    const t = tensors.find((x) => x.index === i);
    if (!t) throw new Error(`test graph has no tensor ${i}`);
    return t;
  };
  const ctx: PrepareContext = {
    graph, op: operator, where, strassen: compile.strassen ?? true,
    input(k) {
      const i = operator.inputs[k];
      if (i === undefined || i < 0) throw new UnsupportedModelError(where, `input ${k} is missing`);
      return byIndex(i);
    },
    optionalInput(k) {
      const i = operator.inputs[k];
      return i === undefined || i < 0 ? null : byIndex(i);
    },
    output(k) { return byIndex(operator.outputs[k]); },
    constBlob(bytes): BlobRef { blobs.push(bytes.slice()); return { blob: blobs.length - 1 }; },
    constTensor(t): BlobRef {
      if (!t.data) throw new UnsupportedModelError(where, `tensor ${t.index} is not constant`);
      blobs.push(t.data.slice());
      return { blob: blobs.length - 1 };
    },
    scratch(bytes): ScratchRef { scratch.push(bytes); return { scratch: scratch.length - 1 }; },
    unsupported(detail): never { throw new UnsupportedModelError(where, detail); },
    check(cond, detail) { if (!cond) throw new UnsupportedModelError(where, detail); },
  };
  return { prepared: prepare(ctx), blobs, scratch };
}

/**
 * Prepare and run one operator on a kernel build. `inputs` maps tensor index -> bytes for the
 * non-constant inputs. Returns the raw bytes of every output tensor, by index.
 * `alias` places output 0 at the address of the given input tensor (in-place execution).
 */
export function runOp(build: KernelBuild, prepare: OpPrepare, tensors: Tensor[], operator: Operator,
  inputs: Record<number, ArrayBufferView>, alias?: { output: number; input: number },
  compile: CompileChoices = {}): Record<number, Uint8Array> {
  const { prepared, blobs, scratch } = prepareOp(prepare, tensors, operator, compile);
  const k = new KernelHarness(build);
  const addrOf = new Map<number, number>();
  for (const t of tensors) {
    if (alias && t.index === alias.output) continue;
    if (t.data) addrOf.set(t.index, k.put(t.data));
    else if (inputs[t.index]) addrOf.set(t.index, k.put(inputs[t.index]));
    else addrOf.set(t.index, k.alloc(t.byteLength));
  }
  if (alias) addrOf.set(alias.output, addrOf.get(alias.input)!);
  const blobAddr = blobs.map((b) => k.put(b));
  const scratchAddr = scratch.map((n) => k.alloc(n));
  const addr: Addresses = {
    tensor: (t) => addrOf.get(typeof t === "number" ? t : t.index)!,
    blob: (r) => blobAddr[r.blob],
    scratch: (r) => scratchAddr[r.scratch],
  };
  for (const block of prepared.encode(addr)) k.run(block.kernel, block.params);
  const out: Record<number, Uint8Array> = {};
  for (const i of operator.outputs) {
    const t = tensors.find((x) => x.index === i)!;
    out[i] = new Uint8Array(k.k.memory.buffer, addrOf.get(i)!, t.byteLength).slice();
  }
  return out;
}

export const asI8 = (b: Uint8Array) => new Int8Array(b.buffer, b.byteOffset, b.byteLength);
export const asF32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
