// Stub: to be implemented (see assembly/abi.ts for the block format).
export function quantize(p: usize): void { unreachable(); }
export function dequantize(p: usize): void { unreachable(); }
