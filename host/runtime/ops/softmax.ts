import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareSoftmax: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
