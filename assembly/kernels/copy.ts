// OP_COPY: copy bytes (RESHAPE when input and output cannot share storage).
//   0 src, 1 dst, 2 bytes
// OP_FILL: fill bytes with a value (resetting variable tensors to their zero point).
//   0 dst, 1 bytes, 2 element size in bytes (1, 2 or 4), 3 value
import { param } from "../fixedpoint";

export function copy(p: usize): void {
  memory.copy(<usize>param(p, 1), <usize>param(p, 0), <usize>param(p, 2));
}

export function fill(p: usize): void {
  const dst = <usize>param(p, 0);
  const bytes = param(p, 1);
  const size = param(p, 2);
  const value = param(p, 3);
  if (size == 1) {
    memory.fill(dst, <u8>value, <usize>bytes);
  } else if (size == 2) {
    for (let i = 0; i < bytes; i += 2) store<i16>(dst + <usize>i, <i16>value);
  } else {
    for (let i = 0; i < bytes; i += 4) store<i32>(dst + <usize>i, value);
  }
}
