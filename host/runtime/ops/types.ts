// The contract between the executor and each operator's prepare step.
// prepare() validates the operator once at load, computes everything that does not change per
// invoke (multipliers, packed weights) and returns how to encode its kernel block(s) once the
// arena plan has given every tensor an address.
import type { ModelGraph, Operator, Tensor } from "../../model/types.js";

/** Opaque handle to a constant blob placed in the weights region. */
export interface BlobRef { readonly blob: number }
/** Opaque handle to op-lifetime scratch memory in the arena. */
export interface ScratchRef { readonly scratch: number }

export interface PrepareContext {
  readonly graph: ModelGraph;
  readonly op: Operator;
  /** Where errors point, e.g. "operators[3] (CONV_2D v3)". */
  readonly where: string;
  /** Winograd F(2x2, 3x3) for eligible convolutions (CompileOptions.winograd). */
  readonly winograd?: boolean;
  /** Strassen layout for large batched FULLY_CONNECTED (CompileOptions.strassen). */
  readonly strassen?: boolean;
  /** Tensor behind operator input k (throws if k is absent or -1 and not optional). */
  input(k: number): Tensor;
  /** Like input(k) but returns null for an omitted (-1 or missing) optional input. */
  optionalInput(k: number): Tensor | null;
  output(k: number): Tensor;
  /** Place constant bytes in the weights region (16-byte aligned by default). */
  constBlob(bytes: Uint8Array, align?: number): BlobRef;
  /** The tensor's own constant data as a blob (deduplicated across ops). Throws if not constant. */
  constTensor(t: Tensor): BlobRef;
  /** Scratch memory live only while this op runs. */
  scratch(bytes: number, align?: number): ScratchRef;
  /** Throw an UnsupportedModelError naming this op. */
  unsupported(detail: string): never;
  /** Assert a condition about the model, else throw UnsupportedModelError(detail). */
  check(cond: unknown, detail: string): void;
}

/** Addresses (byte offsets in wasm linear memory) resolved after planning. */
export interface Addresses {
  tensor(t: Tensor | number): number;
  blob(ref: BlobRef): number;
  scratch(ref: ScratchRef): number;
}

export interface KernelBlock {
  /** One of the OP_* codes of assembly/abi.ts. */
  kernel: number;
  /** Parameter words, in the layout documented in assembly/kernels/<op>.ts. */
  params: ArrayLike<number>;
}

export interface PreparedOp {
  /** Encode the kernel block(s) this op runs (may be empty, e.g. an aliased RESHAPE). */
  encode(addr: Addresses): KernelBlock[];
  /** When set, output tensor `output` shares the storage of input tensor `input` (no copy). */
  alias?: { output: number; input: number };
}

export type OpPrepare = (ctx: PrepareContext) => PreparedOp;
