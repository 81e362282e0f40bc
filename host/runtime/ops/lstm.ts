// UNIDIRECTIONAL_SEQUENCE_LSTM, integer 8x8->16 (int8 activations and weights, int32 biases,
// int16 cell state): validation and the constants TFLite Micro's LSTM prepare computes
// (lstm_eval_common.cc): per-gate FC multipliers into Q3.12, the inter-gate multiplications,
// the quantized cell clip and the cell-state tanh rescale. The zero points are folded into
// the biases here. Kernel: assembly/kernels/lstm.ts (parameter layout documented there).
import type { OpPrepare, PrepareContext } from "./types.js";
import type { Tensor } from "../../model/types.js";
import { Activation, TensorType } from "../../model/types.js";
import { OP_LSTM } from "../../../assembly/abi.js";
import { quantizeMultiplier, roundHalfAway } from "../quant.js";

/** TFLite's lstm_shared.h input indices. */
export const LstmInput = {
  INPUT: 0,
  INPUT_TO_INPUT_W: 1, INPUT_TO_FORGET_W: 2, INPUT_TO_CELL_W: 3, INPUT_TO_OUTPUT_W: 4,
  RECURRENT_TO_INPUT_W: 5, RECURRENT_TO_FORGET_W: 6, RECURRENT_TO_CELL_W: 7, RECURRENT_TO_OUTPUT_W: 8,
  CELL_TO_INPUT_W: 9, CELL_TO_FORGET_W: 10, CELL_TO_OUTPUT_W: 11,
  INPUT_GATE_BIAS: 12, FORGET_GATE_BIAS: 13, CELL_GATE_BIAS: 14, OUTPUT_GATE_BIAS: 15,
  PROJECTION_W: 16, PROJECTION_BIAS: 17,
  OUTPUT_STATE: 18, CELL_STATE: 19,
  INPUT_LAYER_NORM: 20, FORGET_LAYER_NORM: 21, CELL_LAYER_NORM: 22, OUTPUT_LAYER_NORM: 23,
} as const;

/** Gate pre-activations are Q3.12 (scale 2^-12); gate outputs are Q0.15 (scale 2^-15). */
const GATE_INPUT_SCALE = 2 ** -12;
const GATE_OUTPUT_SCALE = 2 ** -15;
/** ActivationFunctionType SIGMOID is not in the Activation table (no fused op uses it). */
const ACTIVATION_SIGMOID = 6;

/** Kernel gate order and their (input weights, recurrent weights, bias) input indices. */
const GATES = [
  { name: "forget", w: LstmInput.INPUT_TO_FORGET_W, r: LstmInput.RECURRENT_TO_FORGET_W, b: LstmInput.FORGET_GATE_BIAS },
  { name: "input", w: LstmInput.INPUT_TO_INPUT_W, r: LstmInput.RECURRENT_TO_INPUT_W, b: LstmInput.INPUT_GATE_BIAS },
  { name: "cell", w: LstmInput.INPUT_TO_CELL_W, r: LstmInput.RECURRENT_TO_CELL_W, b: LstmInput.CELL_GATE_BIAS },
  { name: "output", w: LstmInput.INPUT_TO_OUTPUT_W, r: LstmInput.RECURRENT_TO_OUTPUT_W, b: LstmInput.OUTPUT_GATE_BIAS },
] as const;

/**
 * Multiplier of an FC into a gate, as TFLite's GetQuantizedConvolutionMultipler computes it
 * for a per-tensor filter: the input x filter scale product is taken in float32, then
 * divided in double by the output scale.
 */
export function gateFcMultiplier(inputScale: number, weightScale: number): { multiplier: number; shift: number } {
  return quantizeMultiplier(Math.fround(Math.fround(inputScale) * Math.fround(weightScale)) / GATE_INPUT_SCALE);
}

/** TFLite CheckedLog2 (float math): rounded log2 and whether x is a power of two. */
export function checkedLog2(x: number): { log2: number; exact: boolean } {
  const l = Math.fround(Math.fround(Math.log(Math.fround(x))) * Math.fround(1 / Math.fround(Math.log(2))));
  const r = roundHalfAway(l);
  return { log2: r, exact: Math.abs(Math.fround(l - r)) < 1e-3 };
}

/** int16 TANH input rescale for the cell state (TFLM lstm_internal::Tanh): (multiplier, shift). */
export function cellTanhRescale(cellScalePower: number): { multiplier: number; shift: number } {
  const leftShift = 15 + cellScalePower - 3;
  // A negative shift becomes a rounding right shift of 3x; otherwise 3 << shift, no shift.
  return leftShift < 0 ? { multiplier: 3, shift: -leftShift } : { multiplier: 3 * 2 ** leftShift, shift: 0 };
}

/** TFLM CreateLstmCellStateInfo: clip / scale in double, clamped to int16, truncated. */
export function quantizedCellClip(cellClip: number, cellScale: number): number {
  return Math.trunc(Math.min(Math.max(Math.fround(cellClip) / Math.fround(cellScale), -32768), 32767));
}

function perTensorQuant(ctx: PrepareContext, t: Tensor, what: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  ctx.check(q !== null && q.scale.length === 1 && q.zeroPoint.length === 1,
    `${what} (tensor ${t.index}) must have exactly one scale and zero point`);
  ctx.check(q!.scale[0] > 0 && Number.isFinite(q!.scale[0]), `${what} (tensor ${t.index}) has scale ${q!.scale[0]}`);
  return { scale: q!.scale[0], zeroPoint: q!.zeroPoint[0] };
}

function int32Values(t: Tensor): Int32Array {
  const d = t.data!;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return Int32Array.from({ length: d.byteLength / 4 }, (_, i) => view.getInt32(i * 4, true));
}

export const prepareLstm: OpPrepare = (ctx) => {
  const op = ctx.op;
  const opts = op.options;
  ctx.check(op.inputs.length === 24, `has ${op.inputs.length} inputs, expected 24`);
  ctx.check(op.outputs.length === 1, `has ${op.outputs.length} outputs, expected 1`);

  // The standard LSTM only: every variant's tensors must be absent.
  for (const [k, what] of [
    [LstmInput.CELL_TO_INPUT_W, "peephole"], [LstmInput.CELL_TO_FORGET_W, "peephole"], [LstmInput.CELL_TO_OUTPUT_W, "peephole"],
    [LstmInput.PROJECTION_W, "projection"], [LstmInput.PROJECTION_BIAS, "projection"],
    [LstmInput.INPUT_LAYER_NORM, "layer norm"], [LstmInput.FORGET_LAYER_NORM, "layer norm"],
    [LstmInput.CELL_LAYER_NORM, "layer norm"], [LstmInput.OUTPUT_LAYER_NORM, "layer norm"],
  ] as const) {
    if (ctx.optionalInput(k)) ctx.unsupported(`input ${k} is present: ${what} LSTM variants are not supported`);
  }
  for (const g of GATES) {
    if (!ctx.optionalInput(g.w) || !ctx.optionalInput(g.r) || !ctx.optionalInput(g.b)) {
      ctx.unsupported(`the ${g.name} gate's weights or bias are missing (CIFG LSTM is not supported)`);
    }
  }

  const input = ctx.input(LstmInput.INPUT);
  const hidden = ctx.input(LstmInput.OUTPUT_STATE);
  const cell = ctx.input(LstmInput.CELL_STATE);
  const output = ctx.output(0);
  ctx.check(input.type === TensorType.INT8, `input type ${input.type} is not INT8 (only the integer 8x8->16 LSTM is supported)`);
  ctx.check(output.type === TensorType.INT8, `output type ${output.type} is not INT8`);
  ctx.check(hidden.type === TensorType.INT8, `output state type ${hidden.type} is not INT8`);
  ctx.check(cell.type === TensorType.INT16, `cell state type ${cell.type} is not INT16`);
  ctx.check(hidden.isVariable && !hidden.data, `output state (tensor ${hidden.index}) must be a variable tensor`);
  ctx.check(cell.isVariable && !cell.data, `cell state (tensor ${cell.index}) must be a variable tensor`);

  const act = (opts.fusedActivationFunction as number | undefined) ?? Activation.NONE;
  ctx.check(act === Activation.TANH || act === ACTIVATION_SIGMOID,
    `cell gate activation ${act} is not supported (TANH or SIGMOID)`);
  const cellClip = (opts.cellClip as number | undefined) ?? 0;
  const projClip = (opts.projClip as number | undefined) ?? 0;
  ctx.check(Number.isFinite(cellClip) && cellClip >= 0, `cell_clip ${cellClip} must be >= 0`);
  ctx.check(projClip === 0, `proj_clip ${projClip} is not supported without projection`);
  const timeMajor = Boolean(opts.timeMajor);

  ctx.check(input.shape.length === 3, `input shape [${input.shape}] is not 3-D`);
  const [d0, d1, nInput] = input.shape;
  const batches = timeMajor ? d1 : d0;
  const steps = timeMajor ? d0 : d1;
  const nState = ctx.input(LstmInput.RECURRENT_TO_FORGET_W).shape[0];
  ctx.check(nState > 0 && nInput > 0, `empty LSTM (input size ${nInput}, state size ${nState})`);
  ctx.check(output.shape.length === 3 && output.shape[0] === d0 && output.shape[1] === d1 && output.shape[2] === nState,
    `output shape [${output.shape}] does not match input [${input.shape}] with ${nState} units`);
  ctx.check(hidden.byteLength === batches * nState, `output state has ${hidden.byteLength} elements, expected ${batches * nState}`);
  ctx.check(cell.byteLength === batches * nState * 2, `cell state has ${cell.byteLength / 2} elements, expected ${batches * nState}`);

  const inQ = perTensorQuant(ctx, input, "input");
  const hiddenQ = perTensorQuant(ctx, hidden, "output state");
  const cellQ = perTensorQuant(ctx, cell, "cell state");
  // The output receives the hidden state's bytes (TFLM copies them), whatever its own quantization.
  perTensorQuant(ctx, output, "output");
  ctx.check(cellQ.zeroPoint === 0, `cell state zero point ${cellQ.zeroPoint} is not 0`);
  const cellLog2 = checkedLog2(cellQ.scale);
  ctx.check(cellLog2.exact, `cell state scale ${cellQ.scale} is not a power of two`);

  // Per gate: folded biases and the two FC multipliers into Q3.12.
  const gateConsts = GATES.map((g) => {
    const w = ctx.input(g.w);
    const r = ctx.input(g.r);
    const b = ctx.input(g.b);
    for (const [t, rows, cols, what] of [[w, nState, nInput, "input"], [r, nState, nState, "recurrent"]] as const) {
      ctx.check(t.type === TensorType.INT8 && t.data !== null, `${g.name} gate ${what} weights must be constant INT8`);
      ctx.check(t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === cols,
        `${g.name} gate ${what} weights shape [${t.shape}] is not [${rows}, ${cols}]`);
    }
    ctx.check(b.type === TensorType.INT32 && b.data !== null, `${g.name} gate bias must be constant INT32`);
    ctx.check(b.shape.length === 1 && b.shape[0] === nState, `${g.name} gate bias shape [${b.shape}] is not [${nState}]`);
    const wQ = perTensorQuant(ctx, w, `${g.name} gate input weights`);
    const rQ = perTensorQuant(ctx, r, `${g.name} gate recurrent weights`);
    ctx.check(wQ.zeroPoint === 0 && rQ.zeroPoint === 0, `${g.name} gate weights must have zero point 0`);

    const wv = new Int8Array(w.data!.buffer, w.data!.byteOffset, nState * nInput);
    const rv = new Int8Array(r.data!.buffer, r.data!.byteOffset, nState * nState);
    const bias = int32Values(b);
    const biasIn = new Int32Array(nState);
    const biasRec = new Int32Array(nState);
    for (let i = 0; i < nState; i++) {
      let sw = 0;
      for (let k = 0; k < nInput; k++) sw += wv[i * nInput + k];
      let sr = 0;
      for (let k = 0; k < nState; k++) sr += rv[i * nState + k];
      // TFLM accumulates (x - zp) * w in int32: the same sum modulo 2^32.
      biasIn[i] = (bias[i] - inQ.zeroPoint * sw) | 0;
      biasRec[i] = (-hiddenQ.zeroPoint * sr) | 0;
    }
    return {
      w: ctx.constTensor(w),
      r: ctx.constTensor(r),
      biasIn: ctx.constBlob(new Uint8Array(biasIn.buffer)),
      biasRec: ctx.constBlob(new Uint8Array(biasRec.buffer)),
      inMul: gateFcMultiplier(inQ.scale, wQ.scale),
      recMul: gateFcMultiplier(hiddenQ.scale, rQ.scale),
    };
  });

  // Inter-gate multiplications (TFLM CreateInterGateMulParams: doubles).
  const forgetCell = quantizeMultiplier(GATE_OUTPUT_SCALE * cellQ.scale / cellQ.scale);
  const inputCell = quantizeMultiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / cellQ.scale);
  const hiddenMul = quantizeMultiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / hiddenQ.scale);
  const tanh = cellTanhRescale(cellLog2.log2);
  ctx.check(tanh.multiplier <= 2 ** 15, `cell state scale ${cellQ.scale} is too coarse for the int16 tanh`);
  // TFLM clips when the float cell_clip > 0. A clip that truncates to 0 would pin the cell
  // state to 0 there; the kernel uses 0 for "no clip", so such a model is rejected instead.
  const clip = cellClip > 0 ? quantizedCellClip(cellClip, cellQ.scale) : 0;
  ctx.check(cellClip === 0 || clip > 0, `cell_clip ${cellClip} quantizes to 0 at cell scale ${cellQ.scale}`);

  const scratch = ctx.scratch(4 * nState * 2);
  const inStrides = timeMajor ? [nInput, batches * nInput] : [steps * nInput, nInput];
  const outStrides = timeMajor ? [nState, batches * nState] : [steps * nState, nState];

  return {
    encode: (a) => {
      const params: number[] = [
        a.tensor(input), a.tensor(output), a.tensor(hidden), a.tensor(cell), a.scratch(scratch),
        batches, steps, nInput, nState,
        inStrides[0], inStrides[1], outStrides[0], outStrides[1],
        hiddenQ.zeroPoint, clip, tanh.multiplier, tanh.shift, act === ACTIVATION_SIGMOID ? 1 : 0,
        forgetCell.multiplier, forgetCell.shift, inputCell.multiplier, inputCell.shift,
        hiddenMul.multiplier, hiddenMul.shift,
      ];
      for (const g of gateConsts) {
        params.push(a.blob(g.w), a.blob(g.r), a.blob(g.biasIn), a.blob(g.biasRec),
          g.inMul.multiplier, g.inMul.shift, g.recMul.multiplier, g.recMul.shift);
      }
      return [{ kernel: OP_LSTM, params }];
    },
  };
};
