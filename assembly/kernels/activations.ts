// Stub: to be implemented (see assembly/abi.ts for the block format).
export function logistic(p: usize): void { unreachable(); }
export function tanh(p: usize): void { unreachable(); }
