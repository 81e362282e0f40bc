// ReLU, f32. Forward may run in place (y == x); backward masks by the forward OUTPUT (y > 0),
// which equals masking by the input and lets the input buffer be reused.
import { f4 } from "./geometry";

export function reluForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      const v = v128.load(x + f4(i));
      v128.store(y + f4(i), v128.and(v, f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + f4(i));
    store<f32>(y + f4(i), v > 0 ? v : 0);
  }
}

// dx = y > 0 ? dy : 0 (dx may alias dy).
export function reluBackward(y: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      const mask = f32x4.gt(v128.load(y + f4(i)), zero);
      v128.store(dx + f4(i), v128.and(v128.load(dy + f4(i)), mask));
    }
  }
  for (; i < n; i++) {
    store<f32>(dx + f4(i), load<f32>(y + f4(i)) > 0 ? load<f32>(dy + f4(i)) : 0);
  }
}
