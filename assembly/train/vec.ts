// f32 vector primitives the training kernels are built on. Each has a SIMD path and a plain
// scalar path that performs the SAME f32 operations in the SAME order, so the scalar and SIMD
// builds produce identical bytes (wasm f32 add/mul/div/sqrt are IEEE-exact and neither path
// uses fused multiply-add).
//
// The dot product keeps four partial sums (lane k sums elements i with i % 4 == k over the
// first floor(n/4)*4 elements), combines them as (s0 + s1) + (s2 + s3), then adds the tail
// elements in order. The scalar path emulates the four lanes explicitly.

// Σ a[i] * b[i], i < n.
// @ts-ignore: decorator
@inline
export function dot(a: usize, b: usize, n: i32): f32 {
  const n4 = n & ~3;
  let s: f32;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    }
    s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
      + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      s0 += load<f32>(a + o) * load<f32>(b + o);
      s1 += load<f32>(a + o, 4) * load<f32>(b + o, 4);
      s2 += load<f32>(a + o, 8) * load<f32>(b + o, 8);
      s3 += load<f32>(a + o, 12) * load<f32>(b + o, 12);
    }
    s = (s0 + s1) + (s2 + s3);
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

// y[i] += alpha * x[i], i < n.
// @ts-ignore: decorator
@inline
export function axpy(y: usize, x: usize, alpha: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha);
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

// y[i] += a[i] * b[i], i < n (elementwise multiply-accumulate).
// @ts-ignore: decorator
@inline
export function mulAcc(y: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(v128.load(a + o), v128.load(b + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(a + o) * load<f32>(b + o));
  }
}

// y[i] = x[i], i < n.
// @ts-ignore: decorator
@inline
export function copyF32(y: usize, x: usize, n: i32): void {
  memory.copy(y, x, <usize>n << 2);
}

// y[i] = 0, i < n.
// @ts-ignore: decorator
@inline
export function zeroF32(y: usize, n: i32): void {
  memory.fill(y, 0, <usize>n << 2);
}
