// QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32), per-tensor, as
// TFLM's quantize_common.cc / dequantize_common.cc. Block layouts: assembly/kernels/quantize.ts.
import { OP_DEQUANTIZE, OP_QUANTIZE } from "../../../assembly/abi.js";
import { TensorType, type Tensor } from "../../model/types.js";
import { quantizeMultiplier } from "../quant.js";
import type { Addresses, OpPrepare, PrepareContext } from "./types.js";

/** The bits of a float32 as an int32 parameter word. */
function f32Bits(x: number): number {
  const f = new Float32Array([x]);
  return new Int32Array(f.buffer)[0];
}

function perTensor(ctx: PrepareContext, t: Tensor, what: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  ctx.check(q && q.scale.length === 1 && q.zeroPoint.length === 1,
    `${what} (tensor ${t.index}) must be quantized per tensor`);
  ctx.check(q!.scale[0] > 0 && Number.isFinite(q!.scale[0]), `${what} (tensor ${t.index}) has scale ${q!.scale[0]}`);
  return { scale: q!.scale[0], zeroPoint: q!.zeroPoint[0] };
}

function operand(ctx: PrepareContext, t: Tensor): (a: Addresses) => number {
  if (t.data) {
    const ref = ctx.constTensor(t);
    return (a) => a.blob(ref);
  }
  return (a) => a.tensor(t);
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export const prepareQuantize: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  ctx.check(output.type === TensorType.INT8, `output type ${output.type}: only int8 QUANTIZE output is supported`);
  ctx.check(count(input.shape) === count(output.shape), `input [${input.shape}] and output [${output.shape}] sizes differ`);
  const qo = perTensor(ctx, output, "output");
  const n = count(output.shape);
  const src = operand(ctx, input);
  if (input.type === TensorType.FLOAT32) {
    return {
      encode: (a) => [{
        kernel: OP_QUANTIZE,
        params: [0, src(a), a.tensor(output), n, qo.zeroPoint, f32Bits(qo.scale)],
      }],
    };
  }
  if (input.type === TensorType.INT8) {
    const qi = perTensor(ctx, input, "input");
    const m = quantizeMultiplier(qi.scale / qo.scale);
    return {
      encode: (a) => [{
        kernel: OP_QUANTIZE,
        params: [1, src(a), a.tensor(output), n, qo.zeroPoint, m.multiplier, m.shift, qi.zeroPoint],
      }],
    };
  }
  return ctx.unsupported(`QUANTIZE from type ${input.type} is not supported (FLOAT32 or INT8 only)`);
};

export const prepareDequantize: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  ctx.check(input.type === TensorType.INT8, `input type ${input.type}: only int8 DEQUANTIZE input is supported`);
  ctx.check(output.type === TensorType.FLOAT32, `output type ${output.type} is not FLOAT32`);
  ctx.check(count(input.shape) === count(output.shape), `input [${input.shape}] and output [${output.shape}] sizes differ`);
  const qi = perTensor(ctx, input, "input");
  const n = count(input.shape);
  const src = operand(ctx, input);
  return {
    encode: (a) => [{
      kernel: OP_DEQUANTIZE,
      params: [src(a), a.tensor(output), n, qi.zeroPoint, f32Bits(qi.scale)],
    }],
  };
};
