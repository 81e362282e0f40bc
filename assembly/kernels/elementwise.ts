// Stub: to be implemented (see assembly/abi.ts for the block format).
export function add(p: usize): void { unreachable(); }
export function mul(p: usize): void { unreachable(); }
