// Compile a validated graph into a kernel program: prepare every operator once, assign storage
// (weights resident, variables persistent, activations in one planned arena), then encode the
// op blocks with real addresses. Data flows one way: graph -> prepared ops -> plan -> program.
import { UnsupportedModelError } from "../errors.js";
import { TensorType, type ModelGraph, type Tensor } from "../model/types.js";
import { planArena, type PlanBuffer } from "../plan/arena.js";
import { OP_FILL, OP_HEADER_WORDS } from "../../assembly/abi.js";
import { OP_TABLE } from "./ops/index.js";
import type { Addresses, BlobRef, KernelBlock, PrepareContext, PreparedOp, ScratchRef } from "./ops/types.js";

const ALIGN = 16;
const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

/** Where a tensor lives. */
export type TensorHome =
  | { kind: "arena"; offset: number }      // offset within the arena
  | { kind: "persistent"; offset: number } // variable tensors, within the persistent region
  | { kind: "weights"; offset: number }    // constant data, within the weights region
  | { kind: "none" };

export interface ArenaEntry {
  /** Tensor indices sharing this buffer (an aliased RESHAPE puts several here). */
  tensors: number[];
  offset: number;
  size: number;
  first: number;
  last: number;
  scratchOf?: number;
}

export interface CompiledProgram {
  graph: ModelGraph;
  /** Region sizes in bytes. */
  weightBytes: number;
  persistentBytes: number;
  arenaBytes: number;
  /** Addresses are relative to `base`: weights at 0, persistent after, arena after, program last. */
  layout: { weights: number; persistent: number; arena: number; program: number; end: number };
  weightsImage: Uint8Array;
  homes: TensorHome[];
  arena: ArenaEntry[];
  /** Encoded op blocks (absolute addresses once `base` is applied; see encodeProgram). */
  encode(base: number): { program: Int32Array; opStarts: number[]; opBlockCounts: number[]; reset: Int32Array };
}

function opWhere(graph: ModelGraph, i: number): string {
  const op = graph.operators[i];
  return `operators[${i}] (${op.opName} v${op.version})`;
}

export interface CompileOptions {
  /**
   * Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (bit-identical results, fewer multiplies,
   * transformed int16 weights of 32/9 the int8 bytes), on every kernel build. Default false.
   */
  winograd?: boolean;
  /**
   * One level of Strassen's algorithm for large batched FULLY_CONNECTED whose sizes split evenly
   * (bit-identical, 7/8 of the multiplies, int16 weight sums of 7/4 the pair layout's bytes).
   * Default false.
   */
  strassen?: boolean;
}

export function compileGraph(graph: ModelGraph, options: CompileOptions = {}): CompiledProgram {
  const blobs: { bytes: Uint8Array; align: number }[] = [];
  const tensorBlob = new Map<number, BlobRef>();
  const scratches: { bytes: number; align: number; op: number }[] = [];
  const prepared: PreparedOp[] = [];

  graph.operators.forEach((op, i) => {
    const where = opWhere(graph, i);
    const support = OP_TABLE.get(op.opcode);
    if (!support) throw new UnsupportedModelError(where, `operator ${op.opName} is not supported by qedge`);
    if (op.version > support.maxVersion) {
      throw new UnsupportedModelError(where, `${op.opName} version ${op.version} is not supported (qedge runs up to v${support.maxVersion})`);
    }
    const tensorAt = (list: number[], k: number, what: string, optional: boolean): Tensor | null => {
      const idx = k < list.length ? list[k] : -1;
      if (idx < 0) {
        if (optional) return null;
        throw new UnsupportedModelError(where, `${what}[${k}] is required but absent`);
      }
      return graph.tensors[idx];
    };
    const ctx: PrepareContext = {
      graph, op, where, winograd: options.winograd === true, strassen: options.strassen === true,
      input: (k) => tensorAt(op.inputs, k, "inputs", false)!,
      optionalInput: (k) => tensorAt(op.inputs, k, "inputs", true),
      output: (k) => tensorAt(op.outputs, k, "outputs", false)!,
      constBlob: (bytes, align = ALIGN) => { blobs.push({ bytes, align }); return { blob: blobs.length - 1 }; },
      constTensor: (t) => {
        if (!t.data) throw new UnsupportedModelError(where, `tensor ${t.index} (${t.name}) must be constant`);
        let ref = tensorBlob.get(t.index);
        if (!ref) { blobs.push({ bytes: t.data, align: ALIGN }); ref = { blob: blobs.length - 1 }; tensorBlob.set(t.index, ref); }
        return ref;
      },
      scratch: (bytes, align = ALIGN) => { scratches.push({ bytes, align, op: i }); return { scratch: scratches.length - 1 }; },
      unsupported: (detail) => { throw new UnsupportedModelError(where, detail); },
      check: (cond, detail) => { if (!cond) throw new UnsupportedModelError(where, detail); },
    };
    prepared.push(support.prepare(ctx));
  });

  // Storage classes. Aliases (RESHAPE) join the input's group.
  const nT = graph.tensors.length;
  const root = graph.tensors.map((_, i) => i);
  const find = (i: number): number => (root[i] === i ? i : (root[i] = find(root[i])));
  prepared.forEach((p) => {
    if (p.alias) root[find(p.alias.output)] = find(p.alias.input);
  });

  const nOps = graph.operators.length;
  const first = new Array<number>(nT).fill(Infinity);
  const last = new Array<number>(nT).fill(-Infinity);
  const used = new Array<boolean>(nT).fill(false);
  const touch = (t: number, at: number) => {
    if (t < 0) return;
    const r = find(t);
    used[r] = true;
    first[r] = Math.min(first[r], at);
    last[r] = Math.max(last[r], at);
  };
  for (const t of graph.inputs) touch(t, 0);
  graph.operators.forEach((op, i) => {
    for (const t of op.inputs) touch(t, i);
    for (const t of op.outputs) touch(t, i);
  });
  for (const t of graph.outputs) touch(t, nOps);

  const homes: TensorHome[] = graph.tensors.map(() => ({ kind: "none" }) as TensorHome);
  // Weights: constant blobs.
  let weightBytes = 0;
  const blobOffsets = blobs.map((b) => { const o = alignUp(weightBytes, b.align); weightBytes = o + b.bytes.byteLength; return o; });
  weightBytes = alignUp(weightBytes);
  for (const [t, ref] of tensorBlob) homes[t] = { kind: "weights", offset: blobOffsets[ref.blob] };
  // Persistent: variable tensors.
  let persistentBytes = 0;
  const variables: Tensor[] = [];
  for (const t of graph.tensors) {
    if (t.isVariable && used[find(t.index)]) {
      homes[t.index] = { kind: "persistent", offset: persistentBytes };
      persistentBytes = alignUp(persistentBytes + t.byteLength);
      variables.push(t);
    }
  }
  // Arena: every other used, non-constant group, plus op scratch.
  const groups = new Map<number, number[]>();
  for (let t = 0; t < nT; t++) {
    const r = find(t);
    const tensor = graph.tensors[t];
    if (!used[r] || graph.tensors[r].data || graph.tensors[r].isVariable) continue;
    if (tensor.data) continue;
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(t);
  }
  const entries: ArenaEntry[] = [];
  for (const [r, members] of groups) {
    const size = Math.max(...members.map((t) => graph.tensors[t].byteLength));
    entries.push({ tensors: members, offset: 0, size, first: first[r], last: last[r] });
  }
  scratches.forEach((s, k) => entries.push({ tensors: [], offset: 0, size: s.bytes, first: s.op, last: s.op, scratchOf: k }));
  const bufs: PlanBuffer[] = entries.map((e) => ({ size: e.size, first: e.first, last: e.last }));
  const plan = planArena(bufs, ALIGN);
  entries.forEach((e, k) => {
    e.offset = plan.offsets[k];
    for (const t of e.tensors) homes[t] = { kind: "arena", offset: e.offset };
  });
  const scratchOffsets = scratches.map(() => 0);
  entries.forEach((e) => { if (e.scratchOf !== undefined) scratchOffsets[e.scratchOf] = e.offset; });
  const arenaBytes = plan.size;

  const layout = {
    weights: 0,
    persistent: weightBytes,
    arena: weightBytes + persistentBytes,
    program: weightBytes + persistentBytes + arenaBytes,
    end: 0,
  };

  const weightsImage = new Uint8Array(weightBytes);
  blobs.forEach((b, k) => weightsImage.set(b.bytes, blobOffsets[k]));

  function encode(base: number) {
    const addr: Addresses = {
      tensor(t) {
        const idx = typeof t === "number" ? t : t.index;
        const h = homes[idx];
        switch (h.kind) {
          case "arena": return base + layout.arena + h.offset;
          case "persistent": return base + layout.persistent + h.offset;
          case "weights": return base + layout.weights + h.offset;
          default: throw new UnsupportedModelError(`tensors[${idx}]`, "tensor has no storage (neither constant nor produced)");
        }
      },
      blob: (ref) => base + layout.weights + blobOffsets[ref.blob],
      scratch: (ref: ScratchRef) => base + layout.arena + scratchOffsets[ref.scratch],
    };
    const words: number[] = [];
    const opStarts: number[] = [];
    const opBlockCounts: number[] = [];
    const put = (b: KernelBlock) => { words.push(b.kernel, b.params.length); for (let k = 0; k < b.params.length; k++) words.push(b.params[k] | 0); };
    prepared.forEach((p) => {
      opStarts.push(words.length * 4);
      const blocks = p.encode(addr);
      opBlockCounts.push(blocks.length);
      blocks.forEach(put);
    });
    const program = Int32Array.from(words);
    // Reset program: variable tensors start at their zero point (int8) or 0 (TFLM AllocateTensors).
    const reset: number[] = [];
    for (const t of variables) {
      const elem = t.type === TensorType.INT8 || t.type === TensorType.UINT8 || t.type === TensorType.BOOL ? 1
        : t.type === TensorType.INT16 ? 2 : 4;
      const zp = t.type === TensorType.INT8 ? (t.quantization?.zeroPoint[0] ?? 0) : 0;
      reset.push(OP_FILL, 4, addr.tensor(t), t.byteLength, elem, zp);
    }
    return { program, opStarts, opBlockCounts, reset: Int32Array.from(reset) };
  }

  return { graph, weightBytes, persistentBytes, arenaBytes, layout, weightsImage, homes, arena: entries, encode };
}

export { OP_HEADER_WORDS };
