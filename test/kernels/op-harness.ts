// Runs an operator's host prepare step with a small in-memory PrepareContext, places its blobs,
// scratch and tensors in a KernelHarness, and executes the encoded blocks: this tests the
// host + kernel pair, not only the kernel.
import { UnsupportedModelError } from "../../host/errors.js";
import type { ModelGraph, Operator, Tensor } from "../../host/model/types.js";
import type { BlobRef, OpPrepare, PrepareContext, ScratchRef } from "../../host/runtime/ops/types.js";
import { KernelHarness } from "../helpers/kernel-harness.js";

let nextIndex = 0;

export function tensor(
  shape: number[], type: number,
  opts: { data?: ArrayBufferView | null; scale?: number[]; zeroPoint?: number[]; quantizedDimension?: number; name?: string } = {},
): Tensor {
  const elem = type === 2 ? 4 : type === 7 ? 2 : type === 0 ? 4 : 1;
  const data = opts.data ? new Uint8Array(opts.data.buffer, opts.data.byteOffset, opts.data.byteLength) : null;
  return {
    index: nextIndex++,
    name: opts.name ?? `t${nextIndex}`,
    type,
    shape,
    data,
    quantization: opts.scale
      ? { scale: opts.scale, zeroPoint: opts.zeroPoint ?? opts.scale.map(() => 0), quantizedDimension: opts.quantizedDimension ?? 0 }
      : null,
    isVariable: false,
    byteLength: shape.reduce((a, b) => a * b, 1) * elem,
  };
}

export interface OpUnderTest {
  opcode: number;
  opName: string;
  inputs: (Tensor | null)[];
  outputs: Tensor[];
  options: Record<string, number | boolean | number[]>;
}

/** Run prepare only (for error tests). */
/** Prepare only (winograd: compile with Winograd convolutions, as loadModel does by default). */
export function prepareOnly(prepare: OpPrepare, u: OpUnderTest, winograd = false): ReturnType<OpPrepare> {
  return prepareWith(prepare, u, winograd).prepared;
}

function prepareWith(prepare: OpPrepare, u: OpUnderTest, winograd: boolean) {
  const tensors: Tensor[] = [];
  const idx = (t: Tensor | null): number => {
    if (!t) return -1;
    tensors.push(t);
    return tensors.length - 1;
  };
  const inputs = u.inputs.map(idx);
  const outputs = u.outputs.map(idx);
  tensors.forEach((t, i) => { (t as { index: number }).index = i; });
  const op: Operator = {
    index: 0, opcode: u.opcode, opName: u.opName, version: 1, inputs, outputs, intermediates: [], options: u.options,
  };
  const graph: ModelGraph = { version: 3, description: "", tensors, operators: [op], inputs: [], outputs: [], fileBytes: 0 };
  const blobs: { bytes: Uint8Array; align: number }[] = [];
  const scratches: { bytes: number; align: number }[] = [];
  const where = `operators[0] (${u.opName})`;
  const ctx: PrepareContext = {
    graph, op, where, winograd,
    input(k) {
      const i = op.inputs[k];
      if (i === undefined || i < 0) throw new UnsupportedModelError(where, `input ${k} is missing`);
      return tensors[i];
    },
    optionalInput(k) {
      const i = op.inputs[k];
      return i === undefined || i < 0 ? null : tensors[i];
    },
    output(k) { return tensors[op.outputs[k]]; },
    constBlob(bytes, align = 16): BlobRef {
      blobs.push({ bytes: bytes.slice(), align });
      return { blob: blobs.length - 1 };
    },
    constTensor(t): BlobRef {
      if (!t.data) throw new UnsupportedModelError(where, `tensor ${t.name} is not constant`);
      blobs.push({ bytes: t.data.slice(), align: 16 });
      return { blob: blobs.length - 1 };
    },
    scratch(bytes, align = 16): ScratchRef {
      scratches.push({ bytes, align });
      return { scratch: scratches.length - 1 };
    },
    unsupported(detail): never { throw new UnsupportedModelError(where, detail); },
    check(cond, detail) { if (!cond) throw new UnsupportedModelError(where, detail); },
  };
  return { prepared: prepare(ctx), blobs, scratches, tensors };
}

/**
 * Prepare and run one op on `k`; activation inputs are taken from their `data` field.
 * Returns the bytes of output 0.
 */
export function runOp(k: KernelHarness, prepare: OpPrepare, u: OpUnderTest, opts: { winograd?: boolean } = {}): Int8Array {
  // As loadModel: Winograd convolutions unless asked otherwise.
  const { prepared, blobs, scratches, tensors } = prepareWith(prepare, u, opts.winograd ?? true);
  const blobAddr = blobs.map((b) => k.put(b.bytes, b.align));
  // Scratch is filled with garbage: the kernel must not depend on its contents.
  const scratchAddr = scratches.map((s) => {
    const a = k.alloc(s.bytes, s.align);
    new Uint8Array(k.k.memory.buffer, a, s.bytes).fill(0xa5);
    return a;
  });
  const tensorAddr = new Map<Tensor, number>();
  const out0 = u.outputs[0];
  for (const t of tensors) {
    if (t === out0) {
      const a = k.alloc(t.byteLength);
      new Uint8Array(k.k.memory.buffer, a, t.byteLength).fill(0x5a);
      tensorAddr.set(t, a);
    } else if (t.data) {
      tensorAddr.set(t, k.put(t.data));
    } else {
      tensorAddr.set(t, k.alloc(t.byteLength));
    }
  }
  const blocks = prepared.encode({
    tensor: (t) => tensorAddr.get(typeof t === "number" ? tensors[t] : t)!,
    blob: (r) => blobAddr[r.blob],
    scratch: (r) => scratchAddr[r.scratch],
  });
  for (const b of blocks) k.run(b.kernel, b.params);
  return k.readI8(tensorAddr.get(out0)!, out0.byteLength);
}
