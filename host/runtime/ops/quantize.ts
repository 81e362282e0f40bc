import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareQuantize: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
export const prepareDequantize: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
