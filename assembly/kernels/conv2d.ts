// Stub: to be implemented (see assembly/abi.ts for the block format).
export function conv2d(p: usize): void { unreachable(); }
