// AVERAGE_POOL_2D / MAX_POOL_2D (int8 NHWC). As TFLM, the input and output must share scale
// (within 1e-6) and zero point: the kernels do no rescaling. Block layout: assembly/kernels/pooling.ts.
import { OP_AVERAGE_POOL_2D, OP_MAX_POOL_2D } from "../../../assembly/abi.js";
import { Activation, Padding, TensorType } from "../../model/types.js";
import { activationRange, outSize, padBefore } from "../quant.js";
import type { OpPrepare, PrepareContext, PreparedOp } from "./types.js";

function preparePool(ctx: PrepareContext, kernel: number): PreparedOp {
  const input = ctx.input(0);
  const output = ctx.output(0);
  const o = ctx.op.options;
  const padding = (o.padding as number | undefined) ?? Padding.SAME;
  const strideH = (o.strideH as number | undefined) ?? 1;
  const strideW = (o.strideW as number | undefined) ?? 1;
  const filterH = (o.filterHeight as number | undefined) ?? 1;
  const filterW = (o.filterWidth as number | undefined) ?? 1;
  const act = (o.fusedActivationFunction as number | undefined) ?? Activation.NONE;

  ctx.check(input.type === TensorType.INT8 && output.type === TensorType.INT8,
    `input/output types ${input.type}/${output.type}: only int8 pooling is supported`);
  ctx.check(input.shape.length === 4 && output.shape.length === 4,
    `input [${input.shape}] and output [${output.shape}] must be 4-D NHWC`);
  ctx.check(padding === Padding.SAME || padding === Padding.VALID, `padding ${padding} is not SAME or VALID`);
  ctx.check(strideH >= 1 && strideW >= 1 && filterH >= 1 && filterW >= 1,
    `stride ${strideH}x${strideW} and filter ${filterH}x${filterW} must be positive`);
  const [batches, inH, inW, channels] = input.shape;
  const outH = outSize(padding, inH, filterH, strideH, 1);
  const outW = outSize(padding, inW, filterW, strideW, 1);
  ctx.check(output.shape[0] === batches && output.shape[1] === outH && output.shape[2] === outW &&
    output.shape[3] === channels,
    `output shape [${output.shape}] differs from the computed [${batches},${outH},${outW},${channels}]`);

  const iq = input.quantization;
  const oq = output.quantization;
  ctx.check(iq && oq && iq.scale.length === 1 && oq.scale.length === 1,
    "input and output must be quantized per tensor");
  ctx.check(Math.abs(iq!.scale[0] - oq!.scale[0]) <= 1e-6 && iq!.zeroPoint[0] === oq!.zeroPoint[0],
    `input (${iq!.scale[0]}, ${iq!.zeroPoint[0]}) and output (${oq!.scale[0]}, ${oq!.zeroPoint[0]}) ` +
    "quantization must match (TFLM does not rescale in pooling)");

  const padT = padBefore(padding, inH, filterH, strideH, 1);
  const padL = padBefore(padding, inW, filterW, strideW, 1);
  // Every window must reach into the input (an average over no cells is an error in TFLM).
  const axisOk = (outN: number, inN: number, f: number, s: number, pad: number) => {
    for (let i = 0; i < outN; i++) {
      const start = i * s - pad;
      if (Math.min(inN, start + f) <= Math.max(0, start)) return false;
    }
    return true;
  };
  ctx.check(axisOk(outH, inH, filterH, strideH, padT) && axisOk(outW, inW, filterW, strideW, padL),
    "a pooling window lies entirely in the padding");

  let range: { min: number; max: number };
  try {
    range = activationRange(act, oq!.scale[0], oq!.zeroPoint[0]);
  } catch {
    return ctx.unsupported(`fused activation ${act} is not supported`);
  }
  const src = input.data ? ctx.constTensor(input) : null;
  return {
    encode: (a) => [{
      kernel,
      params: [
        src ? a.blob(src) : a.tensor(input), a.tensor(output),
        batches, inH, inW, channels, outH, outW,
        filterH, filterW, strideH, strideW, padT, padL,
        range.min, range.max,
      ],
    }],
  };
}

export const prepareAveragePool2d: OpPrepare = (ctx) => preparePool(ctx, OP_AVERAGE_POOL_2D);
export const prepareMaxPool2d: OpPrepare = (ctx) => preparePool(ctx, OP_MAX_POOL_2D);
