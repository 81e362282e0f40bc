// Stub: to be implemented (see assembly/abi.ts for the block format).
export function lstm(p: usize): void { unreachable(); }
