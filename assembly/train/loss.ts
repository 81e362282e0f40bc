// Losses. Each returns the mean loss over the batch and writes the gradient of that mean.
import { f4 } from "./geometry";

// Softmax cross-entropy over rows of `logits` [n, k] with integer labels [n] (i32).
// Writes d(mean loss)/d logits = (softmax - onehot) / n into dlogits (may alias logits), and the
// probabilities into probs unless probs == 0.
export function softmaxCrossEntropy(logits: usize, labels: usize, probs: usize, dlogits: usize, n: i32, k: i32): f64 {
  let total: f64 = 0;
  const invN = <f32>1 / <f32>n;
  for (let r = 0; r < n; r++) {
    const z = logits + f4(r * k);
    const d = dlogits + f4(r * k);
    let m = load<f32>(z);
    for (let i = 1; i < k; i++) m = max(m, load<f32>(z + f4(i)));
    let s: f32 = 0;
    for (let i = 0; i < k; i++) s += Mathf.exp(load<f32>(z + f4(i)) - m);
    const label = load<i32>(labels + f4(r));
    total += <f64>(Mathf.log(s) - (load<f32>(z + f4(label)) - m));
    const invS = <f32>1 / s;
    for (let i = 0; i < k; i++) {
      const p = Mathf.exp(load<f32>(z + f4(i)) - m) * invS;
      if (probs != 0) store<f32>(probs + f4(r * k + i), p);
      store<f32>(d + f4(i), (p - (i == label ? <f32>1 : <f32>0)) * invN);
    }
  }
  return total / <f64>n;
}

// Mean squared error over `count` elements; dpred = 2 (pred - target) / count (may alias pred).
export function meanSquaredError(pred: usize, target: usize, dpred: usize, count: i32): f64 {
  let total: f64 = 0;
  const scale = <f32>2 / <f32>count;
  for (let i = 0; i < count; i++) {
    const e = load<f32>(pred + f4(i)) - load<f32>(target + f4(i));
    total += <f64>e * <f64>e;
    store<f32>(dpred + f4(i), e * scale);
  }
  return total / <f64>count;
}
