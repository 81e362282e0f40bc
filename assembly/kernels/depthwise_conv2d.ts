// Stub: to be implemented (see assembly/abi.ts for the block format).
export function depthwiseConv2d(p: usize): void { unreachable(); }
