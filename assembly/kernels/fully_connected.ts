// Stub: to be implemented (see assembly/abi.ts for the block format).
export function fullyConnected(p: usize): void { unreachable(); }
