import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareConv2d: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
