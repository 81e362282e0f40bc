// SOFTMAX (int8 -> int8): validate and precompute TFLite's input scaling once.
// Kernel: assembly/kernels/softmax.ts (parameter layout documented there).
import type { OpPrepare, PrepareContext } from "./types.js";
import type { Tensor } from "../../model/types.js";
import { TensorType } from "../../model/types.js";
import { OP_SOFTMAX } from "../../../assembly/abi.js";
import { quantizeMultiplier } from "../quant.js";

/** Integer bits of the scaled input difference (TFLite's kScaledDiffIntegerBits). */
export const SOFTMAX_DIFF_INTEGER_BITS = 5;

/**
 * TFLite PreprocessSoftmaxScaling: the multiplier for (x - max) that yields a Q5.26 value.
 * beta and input scale are float32 values widened to double, as in TFLite.
 */
export function preprocessSoftmaxScaling(beta: number, inputScale: number, integerBits: number):
{ multiplier: number; leftShift: number } {
  const real = Math.min(Math.fround(beta) * Math.fround(inputScale) * 2 ** (31 - integerBits), 2 ** 31 - 1);
  const { multiplier, shift } = quantizeMultiplier(real);
  return { multiplier, leftShift: shift };
}

/** TFLite CalculateInputRadius: largest |input| whose rescaled value does not overflow. */
export function calculateInputRadius(integerBits: number, leftShift: number, totalSignedBits = 31): number {
  const maxRescaled = ((2 ** integerBits - 1) * 2 ** (totalSignedBits - integerBits)) / 2 ** leftShift;
  return Math.floor(maxRescaled);
}

/** First per-tensor scale / zero point, or an error naming the tensor. */
export function tensorQuant(ctx: PrepareContext, t: Tensor, role: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  ctx.check(q !== null && q.scale.length >= 1 && q.zeroPoint.length >= 1,
    `${role} tensor ${t.index} (${t.name}) has no quantization parameters`);
  return { scale: q!.scale[0], zeroPoint: q!.zeroPoint[0] };
}

export const prepareSoftmax: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  ctx.check(input.type === TensorType.INT8, `input type ${input.type} is not INT8 (only int8 SOFTMAX is supported)`);
  ctx.check(output.type === TensorType.INT8, `output type ${output.type} is not INT8 (only int8 SOFTMAX is supported)`);
  ctx.check(input.shape.length >= 1, "input has rank 0");
  const inQ = tensorQuant(ctx, input, "input");
  const outQ = tensorQuant(ctx, output, "output");
  ctx.check(outQ.zeroPoint === -128, `output zero point is ${outQ.zeroPoint}, TFLite requires -128`);
  ctx.check(outQ.scale === Math.fround(1 / 256), `output scale is ${outQ.scale}, TFLite requires 1/256`);
  const depth = input.shape[input.shape.length - 1];
  const count = input.shape.reduce((a, b) => a * b, 1);
  const outCount = output.shape.reduce((a, b) => a * b, 1);
  ctx.check(outCount === count && output.shape[output.shape.length - 1] === depth,
    `output shape [${output.shape}] does not match input shape [${input.shape}]`);
  const beta = ctx.op.options.beta;
  ctx.check(typeof beta === "number" && Number.isFinite(beta) && beta > 0, `beta ${String(beta)} is not a positive number`);
  ctx.check(inQ.scale > 0, `input scale ${inQ.scale} is not positive`);

  const { multiplier, leftShift } = preprocessSoftmaxScaling(beta as number, inQ.scale, SOFTMAX_DIFF_INTEGER_BITS);
  // QuantizeMultiplierGreaterThanOne: TFLite checks the shift is not negative.
  ctx.check(leftShift >= 0 && leftShift <= 31,
    `beta * input scale = ${(beta as number) * inQ.scale} is too small for the fixed-point softmax`);
  const diffMin = -calculateInputRadius(SOFTMAX_DIFF_INTEGER_BITS, leftShift);
  const rows = depth === 0 ? 0 : count / depth;
  return {
    encode: (a) => [{
      kernel: OP_SOFTMAX,
      params: [a.tensor(input), a.tensor(output), rows, depth, multiplier, leftShift, diffMin],
    }],
  };
};
