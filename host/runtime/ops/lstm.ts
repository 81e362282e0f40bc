import type { OpPrepare } from "./types.js";
// Stub: to be implemented.
export const prepareLstm: OpPrepare = (ctx) => ctx.unsupported("not implemented yet");
