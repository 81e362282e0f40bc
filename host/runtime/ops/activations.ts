// LOGISTIC and TANH (int8 -> int8): validate and precompute TFLite Micro's input rescaling
// into Q4.27. Kernels: assembly/kernels/activations.ts (parameter layout documented there).
import type { OpPrepare, PrepareContext } from "./types.js";
import { TensorType } from "../../model/types.js";
import { OP_LOGISTIC, OP_TANH } from "../../../assembly/abi.js";
import { frexp, roundHalfAway } from "../quant.js";
import { calculateInputRadius, tensorQuant } from "./softmax.js";

/** Integer bits of the fixed-point input to gemmlowp's logistic / tanh (kInputIntegerBits). */
export const ACTIVATION_INPUT_INTEGER_BITS = 4;

/**
 * TFLite Micro's LOGISTIC / TANH int8 prepare: frexp of input_scale * 2^27 gives the multiplier
 * (rounded half away, no renormalisation: a float32 scale can never round up to 2^31) and the
 * left shift; inputs at or beyond the radius saturate.
 */
export function activationInputParams(inputScale: number):
{ multiplier: number; shift: number; rangeRadius: number } {
  const real = Math.fround(inputScale) * 2 ** (31 - ACTIVATION_INPUT_INTEGER_BITS);
  const [q, shift] = frexp(real);
  const multiplier = roundHalfAway(q * 2 ** 31);
  const rangeRadius = calculateInputRadius(ACTIVATION_INPUT_INTEGER_BITS, shift, 31);
  return { multiplier, shift, rangeRadius };
}

function prepareFixedPointActivation(
  ctx: PrepareContext, kernel: number, outScale: number, outZeroPoint: number,
): ReturnType<OpPrepare> {
  const input = ctx.input(0);
  const output = ctx.output(0);
  ctx.check(input.type === TensorType.INT8, `input type ${input.type} is not INT8 (only int8 is supported)`);
  ctx.check(output.type === TensorType.INT8, `output type ${output.type} is not INT8 (only int8 is supported)`);
  ctx.check(input.byteLength === output.byteLength,
    `output shape [${output.shape}] does not match input shape [${input.shape}]`);
  const inQ = tensorQuant(ctx, input, "input");
  const outQ = tensorQuant(ctx, output, "output");
  // The kernel's output rounding assumes this fixed output quantization.
  ctx.check(outQ.zeroPoint === outZeroPoint && outQ.scale === Math.fround(outScale),
    `output quantization (${outQ.scale}, ${outQ.zeroPoint}) must be (${outScale}, ${outZeroPoint})`);
  ctx.check(inQ.scale > 0 && Number.isFinite(inQ.scale), `input scale ${inQ.scale} is not positive`);
  const { multiplier, shift, rangeRadius } = activationInputParams(inQ.scale);
  // TFLite shifts 1 << shift in 64 bits; outside this range its arithmetic is undefined.
  ctx.check(shift >= 0 && shift <= 62, `input scale ${inQ.scale} is outside the supported range`);
  const count = input.byteLength;
  return {
    encode: (a) => [{
      kernel,
      params: [a.tensor(input), a.tensor(output), count, inQ.zeroPoint, rangeRadius, multiplier, shift],
    }],
  };
}

export const prepareLogistic: OpPrepare = (ctx) => prepareFixedPointActivation(ctx, OP_LOGISTIC, 1 / 256, -128);
export const prepareTanh: OpPrepare = (ctx) => prepareFixedPointActivation(ctx, OP_TANH, 1 / 128, 0);
