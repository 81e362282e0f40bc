// Optimizer steps over one flat parameter array w with gradient g (count elements).
// Conventions (as PyTorch's SGD and Adam):
//   SGD:  g' = g + weightDecay * w;  v = momentum * v + g';  w -= lr * v
//         (momentum == 0: w -= lr * g', and v may be 0)
//   Adam: m = b1 m + c1 g;  v = b2 v + c2 g²;  (c1 = 1 - b1, c2 = 1 - b2)
//         w -= lr * (m / bc1) / (sqrt(v / bc2) + eps), with bc1 = 1 - b1^t, bc2 = 1 - b2^t.
//         The host computes c1, c2, bc1, bc2 in double: 1 - f32(0.999) would be off by 1e-5
//         relative, which matters because v / bc2 divides two numbers near 0.001.
import { f4 } from "./geometry";

export function sgdStep(w: usize, g: usize, v: usize, count: i32, lr: f32, momentum: f32, weightDecay: f32): void {
  let i = 0;
  const useV = momentum != 0 && v != 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr), vmu = f32x4.splat(momentum), vwd = f32x4.splat(weightDecay);
    const n4 = count & ~3;
    for (; i < n4; i += 4) {
      const o = f4(i);
      const wv = v128.load(w + o);
      let gv = f32x4.add(v128.load(g + o), f32x4.mul(vwd, wv));
      if (useV) {
        gv = f32x4.add(f32x4.mul(vmu, v128.load(v + o)), gv);
        v128.store(v + o, gv);
      }
      v128.store(w + o, f32x4.sub(wv, f32x4.mul(vlr, gv)));
    }
  }
  for (; i < count; i++) {
    const o = f4(i);
    const wv = load<f32>(w + o);
    let gv = load<f32>(g + o) + weightDecay * wv;
    if (useV) {
      gv = momentum * load<f32>(v + o) + gv;
      store<f32>(v + o, gv);
    }
    store<f32>(w + o, wv - lr * gv);
  }
}

export function adamStep(
  w: usize, g: usize, m: usize, v: usize, count: i32,
  lr: f32, beta1: f32, beta2: f32, c1: f32, c2: f32, eps: f32, bc1: f32, bc2: f32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2), vc1 = f32x4.splat(c1), vc2 = f32x4.splat(c2);
    const vbc1 = f32x4.splat(bc1), vbc2 = f32x4.splat(bc2), vlr = f32x4.splat(lr), veps = f32x4.splat(eps);
    const n4 = count & ~3;
    for (; i < n4; i += 4) {
      const o = f4(i);
      const gv = v128.load(g + o);
      const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, gv));
      const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vc2, f32x4.mul(gv, gv)));
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      const den = f32x4.add(f32x4.sqrt(f32x4.div(vv, vbc2)), veps);
      const step = f32x4.div(f32x4.mul(vlr, f32x4.div(mv, vbc1)), den);
      v128.store(w + o, f32x4.sub(v128.load(w + o), step));
    }
  }
  for (; i < count; i++) {
    const o = f4(i);
    const gv = load<f32>(g + o);
    const mv = beta1 * load<f32>(m + o) + c1 * gv;
    const vv = beta2 * load<f32>(v + o) + c2 * (gv * gv);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const den = Mathf.sqrt(vv / bc2) + eps;
    store<f32>(w + o, load<f32>(w + o) - (lr * (mv / bc1)) / den);
  }
}
