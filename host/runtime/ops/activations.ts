import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareLogistic: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
export const prepareTanh: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
