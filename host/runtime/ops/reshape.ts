// RESHAPE: data is unchanged, so the output shares the input's storage (no kernel runs).
// The target shape is taken from the output tensor, which the loader has validated; a
// constant shape input (KWS) or ReshapeOptions.newShape must agree in element count.
import type { OpPrepare } from "./types.js";
import { OP_COPY } from "../../../assembly/abi.js";

export const prepareReshape: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  ctx.check(input.type === output.type, `input type ${input.type} differs from output type ${output.type}`);
  ctx.check(input.byteLength === output.byteLength,
    `input has ${input.byteLength} bytes but output shape [${output.shape}] needs ${output.byteLength}`);
  if (input.data) {
    // A constant reshaped into an activation: copy once per invoke (rare).
    const src = ctx.constTensor(input);
    return { encode: (a) => [{ kernel: OP_COPY, params: [a.blob(src), a.tensor(output), output.byteLength] }] };
  }
  return { alias: { output: output.index, input: input.index }, encode: () => [] };
};
