// Runs an operator's real host prepare + kernel blocks on a KernelHarness, without the
// executor: a minimal PrepareContext over hand-made tensors, every tensor and blob placed in the
// harness's memory.
import { KernelHarness } from "../helpers/kernel-harness.js";
import type { ModelGraph, Operator, Tensor } from "../../host/model/types.js";
import { TensorType } from "../../host/model/types.js";
import type { Addresses, BlobRef, OpPrepare, PrepareContext, ScratchRef, PreparedOp } from "../../host/runtime/ops/types.js";
import { UnsupportedModelError } from "../../host/errors.js";

const ELEMENT_BYTES: Record<number, number> = {
  [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2, [TensorType.INT32]: 4,
  [TensorType.FLOAT32]: 4, [TensorType.INT64]: 8,
};

export interface TensorSpec {
  type: number;
  shape: number[];
  scale?: number | number[];
  zeroPoint?: number;
  data?: ArrayBufferView | null;
  isVariable?: boolean;
  name?: string;
}

export function makeTensors(specs: TensorSpec[]): Tensor[] {
  return specs.map((s, index) => {
    const count = s.shape.reduce((a, b) => a * b, 1);
    const scales = s.scale === undefined ? null : Array.isArray(s.scale) ? s.scale.map(Math.fround) : [Math.fround(s.scale)];
    return {
      index,
      name: s.name ?? `t${index}`,
      type: s.type,
      shape: s.shape,
      data: s.data ? new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength) : null,
      quantization: scales ? { scale: scales, zeroPoint: scales.map(() => s.zeroPoint ?? 0), quantizedDimension: 0 } : null,
      isVariable: s.isVariable ?? false,
      byteLength: count * (ELEMENT_BYTES[s.type] ?? 1),
    };
  });
}

export class PreparedOpRunner {
  readonly tensorAddr = new Map<number, number>();
  readonly prepared: PreparedOp;
  private blobs: number[] = [];
  private scratches: number[] = [];

  constructor(readonly k: KernelHarness, prepare: OpPrepare, readonly tensors: Tensor[], op: Partial<Operator>) {
    const operator: Operator = {
      index: 0, opcode: 0, opName: "TEST", version: 1, inputs: [], outputs: [], intermediates: [], options: {}, ...op,
    };
    const graph: ModelGraph = {
      version: 3, description: "", tensors, operators: [operator], inputs: [], outputs: [], fileBytes: 0,
    };
    const where = `operators[0] (${operator.opName})`;
    const get = (list: number[], k: number, what: string): Tensor => {
      const i = list[k];
      if (i === undefined || i < 0) throw new UnsupportedModelError(where, `${what} ${k} is missing`);
      return tensors[i];
    };
    const ctx: PrepareContext = {
      graph, op: operator, where,
      input: (k) => get(operator.inputs, k, "input"),
      optionalInput: (k) => (operator.inputs[k] === undefined || operator.inputs[k] < 0 ? null : tensors[operator.inputs[k]]),
      output: (k) => get(operator.outputs, k, "output"),
      constBlob: (bytes: Uint8Array): BlobRef => {
        this.blobs.push(this.k.put(bytes));
        return { blob: this.blobs.length - 1 };
      },
      constTensor: (t: Tensor): BlobRef => {
        if (!t.data) throw new UnsupportedModelError(where, `tensor ${t.index} is not constant`);
        return ctx.constBlob(t.data);
      },
      scratch: (bytes: number): ScratchRef => {
        this.scratches.push(this.k.alloc(bytes));
        return { scratch: this.scratches.length - 1 };
      },
      unsupported: (detail: string): never => { throw new UnsupportedModelError(where, detail); },
      check: (cond: unknown, detail: string) => { if (!cond) throw new UnsupportedModelError(where, detail); },
    };
    this.prepared = prepare(ctx);
  }

  /** Address of tensor t, allocating it (and copying constant data) on first use. */
  addr(t: Tensor | number): number {
    const tensor = typeof t === "number" ? this.tensors[t] : t;
    let a = this.tensorAddr.get(tensor.index);
    if (a === undefined) {
      a = tensor.data ? this.k.put(tensor.data) : this.k.alloc(Math.max(tensor.byteLength, 1));
      this.tensorAddr.set(tensor.index, a);
    }
    return a;
  }

  get addresses(): Addresses {
    return {
      tensor: (t) => this.addr(t),
      blob: (r) => this.blobs[r.blob],
      scratch: (r) => this.scratches[r.scratch],
    };
  }

  /** Encode and run every block once. */
  run(): void {
    for (const b of this.prepared.encode(this.addresses)) this.k.run(b.kernel, b.params);
  }
}
