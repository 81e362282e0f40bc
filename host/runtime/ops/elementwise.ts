import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareAdd: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
export const prepareMul: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
