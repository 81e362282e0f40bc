// Stub: to be implemented (see assembly/abi.ts for the block format).
export function averagePool2d(p: usize): void { unreachable(); }
export function maxPool2d(p: usize): void { unreachable(); }
