import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareAveragePool2d: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
export const prepareMaxPool2d: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
