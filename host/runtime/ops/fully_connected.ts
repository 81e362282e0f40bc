import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareFullyConnected: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
