// Stub: to be implemented (see assembly/abi.ts for the block format).
export function softmax(p: usize): void { unreachable(); }
