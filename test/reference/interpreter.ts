// Whole-model reference interpreter for tests: walks the operators of a parsed graph in order and
// evaluates each with the plain TypeScript references in this folder. Every parameter
// (requantization multipliers, padding, activation ranges, FC flattening, depth multiplier,
// per-channel scales) is derived here from the tensors' float scales following
// ../shared/notes/int8-arithmetic.md. Nothing comes from host/runtime/ (the code under test);
// only the validated file parser (host/model/reader.ts) is shared.
import { TensorType, BuiltinOp, type ModelGraph, type Operator, type Tensor } from "../../host/model/types.js";
import { referenceConv2d, referenceDepthwiseConv2d, type ActivationKind, type PaddingKind } from "./conv.js";
import {
  fullyConnectedRef, poolRef, addRef, mulRef, quantizeRef, requantizeRef, dequantizeRef,
  refQuantizeMultiplier, refActivationRange, type Quant,
} from "./int8-ops.js";
import { refSoftmaxInt8 } from "./softmax.js";
import { refLogisticInt8, refTanhInt8 } from "./activations.js";
import { refLstm, type GateSpec } from "./lstm.js";

export type RefValue = Int8Array | Int16Array | Int32Array | Float32Array;
/** Variable tensors (LSTM state) by tensor index; carried from one referenceRun to the next. */
export type ReferenceState = Map<number, RefValue>;
/** Called after each operator with every tensor value computed so far (for layer-by-layer diffs). */
export type AfterOp = (opIndex: number, values: ReadonlyMap<number, RefValue>) => void;

/** Reference cannot evaluate this operator/graph (as opposed to a wrong result). */
export class ReferenceUnsupported extends Error {}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function typedFrom(type: number, bytes: Uint8Array): RefValue {
  const copy = bytes.slice().buffer; // aligned copy: constant data may sit at any file offset
  switch (type) {
    case TensorType.INT8: return new Int8Array(copy);
    case TensorType.INT16: return new Int16Array(copy);
    case TensorType.INT32: return new Int32Array(copy);
    case TensorType.FLOAT32: return new Float32Array(copy);
    default: throw new ReferenceUnsupported(`tensor type ${type}`);
  }
}

function emptyOf(t: Tensor): RefValue {
  return typedFrom(t.type, new Uint8Array(t.byteLength));
}

/** TFLM's AllocateTensors: int8 variables start at their zero point, others at 0. */
export function initialState(graph: ModelGraph): ReferenceState {
  const s: ReferenceState = new Map();
  for (const t of graph.tensors) {
    if (!t.isVariable) continue;
    const v = emptyOf(t);
    if (t.type === TensorType.INT8) v.fill(t.quantization?.zeroPoint[0] ?? 0);
    s.set(t.index, v);
  }
  return s;
}

function quantOf(t: Tensor): Quant {
  const q = t.quantization;
  if (!q || q.scale.length === 0) throw new ReferenceUnsupported(`tensor ${t.index} (${t.name}) has no quantization`);
  return { scale: q.scale[0], zp: q.zeroPoint[0] ?? 0 };
}

/** Weight scales (one per output channel or one per tensor); weights must be symmetric. */
function weightScales(t: Tensor, channels: number): number[] {
  const q = t.quantization;
  if (!q || q.scale.length === 0) throw new ReferenceUnsupported(`weights ${t.index} unquantized`);
  if (q.zeroPoint.some((z) => z !== 0)) throw new ReferenceUnsupported(`weights ${t.index} have a nonzero zero point`);
  if (q.scale.length !== 1 && q.scale.length !== channels) {
    throw new ReferenceUnsupported(`weights ${t.index}: ${q.scale.length} scales for ${channels} channels`);
  }
  return q.scale;
}

const ACT_NAMES: Record<number, ActivationKind> = { 0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6" };
function actCode(op: Operator): number {
  const a = Number(op.options.fusedActivationFunction ?? 0);
  if (!(a in ACT_NAMES)) throw new ReferenceUnsupported(`fused activation ${a}`);
  return a;
}
const padKind = (op: Operator): PaddingKind => (Number(op.options.padding ?? 0) === 1 ? "VALID" : "SAME");

/** Output size and leading padding as TFLite's ComputeOutSize / ComputePaddingHeightWidth. */
function outAndPad(pad: PaddingKind, inSize: number, k: number, stride: number, dil = 1): [number, number] {
  const eff = (k - 1) * dil + 1;
  const out = pad === "SAME" ? Math.ceil(inSize / stride) : Math.floor((inSize - eff) / stride) + 1;
  const total = (out - 1) * stride + eff - inSize;
  return [out, Math.max(0, Math.floor(total / 2))];
}

function expectShape(t: Tensor, shape: number[], what: string): void {
  if (t.shape.join() !== shape.join()) {
    throw new Error(`${what}: computed output shape [${shape}] but tensor ${t.index} is [${t.shape}]`);
  }
}

/** Operators this interpreter evaluates. */
export const REFERENCE_OPS: ReadonlySet<number> = new Set<number>([
  BuiltinOp.CONV_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.FULLY_CONNECTED, BuiltinOp.AVERAGE_POOL_2D,
  BuiltinOp.MAX_POOL_2D, BuiltinOp.ADD, BuiltinOp.MUL, BuiltinOp.RESHAPE, BuiltinOp.SOFTMAX, BuiltinOp.LOGISTIC,
  BuiltinOp.TANH, BuiltinOp.QUANTIZE, BuiltinOp.DEQUANTIZE, BuiltinOp.UNIDIRECTIONAL_SEQUENCE_LSTM,
]);

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM operand positions (TFLite's lstm_shared.h order). Gates are taken
 * as (input-to weights, recurrent-to weights, bias).
 */
const LSTM = {
  input: 0, outputState: 18, cellState: 19,
  gates: {
    input: [1, 5, 12], forget: [2, 6, 13], cell: [3, 7, 14], output: [4, 8, 15],
  } as Record<"input" | "forget" | "cell" | "output", [number, number, number]>,
  /** Peepholes (9-11), projection (16, 17), layer norm (20-23): the reference has none. */
  absent: [9, 10, 11, 16, 17, 20, 21, 22, 23],
};

/** Names of the graph's operators the interpreter cannot evaluate (empty: it runs the whole graph). */
export function unsupportedOps(graph: ModelGraph): string[] {
  return [...new Set(graph.operators.filter((op) => !REFERENCE_OPS.has(op.opcode)).map((op) => op.opName))];
}

class Run {
  readonly values = new Map<number, RefValue>();
  constructor(readonly graph: ModelGraph) {}

  tensor(i: number): Tensor { return this.graph.tensors[i]; }

  get(i: number): RefValue {
    const v = this.values.get(i);
    if (v) return v;
    const t = this.tensor(i);
    if (!t.data) throw new Error(`tensor ${i} (${t.name}) read before it was written`);
    const c = typedFrom(t.type, t.data);
    this.values.set(i, c);
    return c;
  }

  i8(i: number): Int8Array {
    const v = this.get(i);
    if (!(v instanceof Int8Array)) throw new ReferenceUnsupported(`tensor ${i} is not int8`);
    return v;
  }

  optionalBias(op: Operator, k: number): Int32Array | null {
    const idx = op.inputs[k];
    if (idx === undefined || idx < 0) return null;
    const v = this.get(idx);
    if (!(v instanceof Int32Array)) throw new ReferenceUnsupported(`bias ${idx} is not int32`);
    return v;
  }

  step(op: Operator): void {
    const out = this.tensor(op.outputs[0]);
    const set = (v: RefValue) => {
      if (v.length !== numel(out.shape)) throw new Error(`op ${op.index} ${op.opName}: ${v.length} values for [${out.shape}]`);
      this.values.set(out.index, v);
    };
    switch (op.opcode) {
      case BuiltinOp.CONV_2D: case BuiltinOp.DEPTHWISE_CONV_2D: return set(this.conv(op, out));
      case BuiltinOp.FULLY_CONNECTED: return set(this.fullyConnected(op, out));
      case BuiltinOp.AVERAGE_POOL_2D: return set(this.pool(op, out, false));
      case BuiltinOp.MAX_POOL_2D: return set(this.pool(op, out, true));
      case BuiltinOp.ADD: case BuiltinOp.MUL: return set(this.binary(op, out));
      case BuiltinOp.RESHAPE: return set(this.get(op.inputs[0]).slice());
      case BuiltinOp.SOFTMAX: return set(this.softmax(op, out));
      case BuiltinOp.LOGISTIC: case BuiltinOp.TANH: return set(this.activation(op, out));
      case BuiltinOp.QUANTIZE: return set(this.quantize(op, out));
      case BuiltinOp.UNIDIRECTIONAL_SEQUENCE_LSTM: return set(this.lstm(op, out));
      case BuiltinOp.DEQUANTIZE: {
        const q = quantOf(this.tensor(op.inputs[0]));
        return set(dequantizeRef(this.i8(op.inputs[0]), q.scale, q.zp));
      }
      default: throw new ReferenceUnsupported(`operator ${op.opName}`);
    }
  }

  conv(op: Operator, out: Tensor): Int8Array {
    const depthwise = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
    const x = this.tensor(op.inputs[0]);
    const w = this.tensor(op.inputs[1]);
    if (x.shape.length !== 4 || w.shape.length !== 4) throw new ReferenceUnsupported("conv on non-4D tensors");
    const oc = depthwise ? w.shape[3] : w.shape[0];
    if (depthwise) {
      const mult = oc / x.shape[3];
      const opt = Number(op.options.depthMultiplier ?? 0);
      if (!Number.isInteger(mult) || (opt !== 0 && opt !== mult)) {
        throw new ReferenceUnsupported(`depthwise: ${oc} output channels, ${x.shape[3]} input channels, depth_multiplier ${opt}`);
      }
    }
    const qx = quantOf(x), qo = quantOf(out);
    const spec = {
      input: this.i8(x.index), inShape: x.shape as [number, number, number, number], inScale: qx.scale, inZp: qx.zp,
      filter: this.i8(w.index), filterShape: w.shape as [number, number, number, number],
      wScales: weightScales(w, oc), bias: this.optionalBias(op, 2), outScale: qo.scale, outZp: qo.zp,
      padding: padKind(op), strideH: Number(op.options.strideH), strideW: Number(op.options.strideW),
      dilationH: Number(op.options.dilationHFactor ?? 1), dilationW: Number(op.options.dilationWFactor ?? 1),
      act: ACT_NAMES[actCode(op)],
    };
    const r = depthwise ? referenceDepthwiseConv2d(spec) : referenceConv2d(spec);
    expectShape(out, r.shape, `op ${op.index} ${op.opName}`);
    return r.data;
  }

  fullyConnected(op: Operator, out: Tensor): Int8Array {
    const x = this.tensor(op.inputs[0]);
    const w = this.tensor(op.inputs[1]);
    if (w.shape.length !== 2) throw new ReferenceUnsupported(`FC weights of rank ${w.shape.length}`);
    if (Number(op.options.weightsFormat ?? 0) !== 0) throw new ReferenceUnsupported("shuffled FC weights");
    const [outDepth, inDepth] = w.shape;
    // Every dimension but the weights' input depth is a batch (micro_speech flattens [1,25,20,8]).
    const batches = numel(x.shape) / inDepth;
    if (!Number.isInteger(batches)) throw new Error(`FC: input [${x.shape}] is not a multiple of ${inDepth}`);
    const expected = op.options.keepNumDims ? [...x.shape.slice(0, -1), outDepth] : [batches, outDepth];
    expectShape(out, expected, `op ${op.index} FULLY_CONNECTED`);
    const qx = quantOf(x), qo = quantOf(out);
    const scales = weightScales(w, outDepth);
    const multipliers: number[] = [], shifts: number[] = [];
    for (let c = 0; c < outDepth; c++) {
      const ws = scales.length === 1 ? scales[0] : scales[c];
      const m = refQuantizeMultiplier((qx.scale * ws) / qo.scale); // double, as the rules say
      multipliers.push(m.multiplier);
      shifts.push(m.shift);
    }
    const [lo, hi] = refActivationRange(actCode(op), qo.scale, qo.zp);
    return fullyConnectedRef({
      input: this.i8(x.index), inZp: qx.zp, weights: this.i8(w.index), bias: this.optionalBias(op, 2),
      batches, inDepth, outDepth, multipliers, shifts, outZp: qo.zp, lo, hi,
    });
  }

  pool(op: Operator, out: Tensor, isMax: boolean): Int8Array {
    const x = this.tensor(op.inputs[0]);
    // TFLM pools in the input's quantization; the output's only sets the activation clamp.
    const qo = quantOf(out);
    const [n, h, w, c] = x.shape;
    const pad = padKind(op);
    const fH = Number(op.options.filterHeight), fW = Number(op.options.filterWidth);
    const sH = Number(op.options.strideH), sW = Number(op.options.strideW);
    const [outH, padT] = outAndPad(pad, h, fH, sH);
    const [outW, padL] = outAndPad(pad, w, fW, sW);
    expectShape(out, [n, outH, outW, c], `op ${op.index} ${op.opName}`);
    const [lo, hi] = refActivationRange(actCode(op), qo.scale, qo.zp);
    return poolRef({
      input: this.i8(x.index), batches: n, inH: h, inW: w, channels: c, outH, outW, fH, fW, sH, sW, padT, padL, lo, hi,
    }, isMax);
  }

  binary(op: Operator, out: Tensor): Int8Array {
    const a = this.tensor(op.inputs[0]), b = this.tensor(op.inputs[1]);
    const f = op.opcode === BuiltinOp.ADD ? addRef : mulRef;
    return f(this.i8(a.index), a.shape, quantOf(a), this.i8(b.index), b.shape, quantOf(b), quantOf(out), actCode(op));
  }

  softmax(op: Operator, out: Tensor): Int8Array {
    const x = this.tensor(op.inputs[0]);
    const qo = quantOf(out);
    if (qo.scale !== 1 / 256 || qo.zp !== -128) throw new ReferenceUnsupported(`softmax output (${qo.scale}, ${qo.zp})`);
    return refSoftmaxInt8(this.i8(x.index), x.shape[x.shape.length - 1], Number(op.options.beta), quantOf(x).scale);
  }

  activation(op: Operator, out: Tensor): Int8Array {
    const logistic = op.opcode === BuiltinOp.LOGISTIC;
    const qx = quantOf(this.tensor(op.inputs[0])), qo = quantOf(out);
    const want = logistic ? { scale: 1 / 256, zp: -128 } : { scale: 1 / 128, zp: 0 };
    if (qo.scale !== want.scale || qo.zp !== want.zp) throw new ReferenceUnsupported(`${op.opName} output (${qo.scale}, ${qo.zp})`);
    return (logistic ? refLogisticInt8 : refTanhInt8)(this.i8(op.inputs[0]), qx.scale, qx.zp);
  }

  /** Integer 8x8->16 LSTM: int8 input/hidden, int16 cell state (a power-of-two scale), int32 biases. */
  lstm(op: Operator, out: Tensor): Int8Array {
    const used = (k: number) => op.inputs[k] !== undefined && op.inputs[k] >= 0;
    const present = LSTM.absent.filter(used);
    if (present.length) throw new ReferenceUnsupported(`LSTM with operands ${present} (peephole/projection/layer norm)`);
    if (Number(op.options.fusedActivationFunction) !== 4) throw new ReferenceUnsupported("LSTM activation other than TANH");
    const x = this.tensor(op.inputs[LSTM.input]);
    const hiddenT = this.tensor(op.inputs[LSTM.outputState]);
    const cellT = this.tensor(op.inputs[LSTM.cellState]);
    if (x.shape.length !== 3) throw new ReferenceUnsupported(`LSTM input of rank ${x.shape.length}`);
    if (cellT.type !== TensorType.INT16 || hiddenT.type !== TensorType.INT8) throw new ReferenceUnsupported("LSTM state types");
    const timeMajor = Boolean(op.options.timeMajor);
    const [steps, batches] = timeMajor ? [x.shape[0], x.shape[1]] : [x.shape[1], x.shape[0]];
    const nInput = x.shape[2];
    const nState = hiddenT.shape[hiddenT.shape.length - 1];
    expectShape(out, timeMajor ? [steps, batches, nState] : [batches, steps, nState], `op ${op.index} LSTM`);
    const qx = quantOf(x), qh = quantOf(hiddenT), qc = quantOf(cellT), qo = quantOf(out);
    // The output sequence is the hidden state, written without rescaling.
    if (qo.scale !== qh.scale || qo.zp !== qh.zp) throw new ReferenceUnsupported("LSTM output quantized unlike its hidden state");
    if (qc.zp !== 0 || !Number.isInteger(Math.log2(qc.scale))) throw new ReferenceUnsupported(`LSTM cell scale ${qc.scale}`);
    const gate = (k: "input" | "forget" | "cell" | "output"): GateSpec => {
      const [wi, ri, bi] = LSTM.gates[k];
      if (![wi, ri, bi].every(used)) throw new ReferenceUnsupported(`LSTM without the ${k} gate (CIFG)`);
      const w = this.tensor(op.inputs[wi]), r = this.tensor(op.inputs[ri]);
      const bias = this.optionalBias(op, bi)!;
      return { w: this.i8(w.index), wScale: weightScales(w, 1)[0], r: this.i8(r.index), rScale: weightScales(r, 1)[0], bias };
    };
    const hidden = this.get(hiddenT.index), cell = this.get(cellT.index);
    if (!(hidden instanceof Int8Array) || !(cell instanceof Int16Array)) throw new Error("LSTM state not initialized");
    return refLstm({
      batches, steps, nInput, nState, timeMajor,
      inScale: qx.scale, inZp: qx.zp, hiddenScale: qh.scale, hiddenZp: qh.zp,
      cellScale: qc.scale, cellClip: Number(op.options.cellClip ?? 0),
      forget: gate("forget"), input: gate("input"), cell: gate("cell"), output: gate("output"),
    }, this.i8(x.index), hidden, cell); // updates the state in place: it carries to the next run
  }

  quantize(op: Operator, out: Tensor): Int8Array {
    const x = this.tensor(op.inputs[0]);
    const qo = quantOf(out);
    if (out.type !== TensorType.INT8) throw new ReferenceUnsupported(`QUANTIZE to type ${out.type}`);
    const v = this.get(x.index);
    if (v instanceof Float32Array) return quantizeRef(v, qo.scale, qo.zp);
    if (v instanceof Int8Array) { const qx = quantOf(x); return requantizeRef(v, qx.scale, qx.zp, qo.scale, qo.zp); }
    throw new ReferenceUnsupported(`QUANTIZE from type ${x.type}`);
  }
}

/**
 * Evaluate the whole graph on `inputs` (one typed array per graph input, matching its type and
 * element count) and return the graph outputs. `state` holds variable tensors: pass the same map
 * to several calls to carry LSTM state; omitted = fresh state (TFLM's AllocateTensors values).
 */
export function referenceRun(graph: ModelGraph, inputs: ArrayBufferView[], state?: ReferenceState, afterOp?: AfterOp): RefValue[] {
  if (inputs.length !== graph.inputs.length) throw new Error(`${inputs.length} inputs for ${graph.inputs.length} graph inputs`);
  const run = new Run(graph);
  const st = state ?? initialState(graph);
  for (const [i, v] of st) run.values.set(i, v);
  graph.inputs.forEach((ti, k) => {
    const t = graph.tensors[ti];
    const src = inputs[k];
    if (src.byteLength !== t.byteLength) throw new Error(`input ${k}: ${src.byteLength} bytes, tensor ${ti} needs ${t.byteLength}`);
    run.values.set(ti, typedFrom(t.type, new Uint8Array(src.buffer, src.byteOffset, src.byteLength)));
  });
  for (const op of graph.operators) {
    run.step(op);
    afterOp?.(op.index, run.values);
  }
  return graph.outputs.map((o) => run.get(o));
}
