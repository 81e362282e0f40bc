// Fully connected layer, f32. Shapes (row-major):
//   x [n, inDim], w [outDim, inDim] (TFLite FULLY_CONNECTED layout), b [outDim], y [n, outDim].
import { dot, axpy, zeroF32 } from "./vec";

// y = x · wᵀ + b.
export function denseForward(x: usize, w: usize, b: usize, y: usize, n: i32, inDim: i32, outDim: i32): void {
  for (let r = 0; r < n; r++) {
    const xr = x + ((<usize>r * inDim) << 2);
    const yr = y + ((<usize>r * outDim) << 2);
    for (let o = 0; o < outDim; o++) {
      const wo = w + ((<usize>o * inDim) << 2);
      store<f32>(yr + (<usize>o << 2), load<f32>(b + (<usize>o << 2)) + dot(xr, wo, inDim));
    }
  }
}

// Gradients from dy [n, outDim]: dw and db are ACCUMULATED (+=), so a caller zeroes them once
// per step; dx [n, inDim] is overwritten. Each of dx, dw, db is skipped when its pointer is 0
// (first layer; frozen weights or bias).
export function denseBackward(
  x: usize, w: usize, dy: usize, dx: usize, dw: usize, db: usize, n: i32, inDim: i32, outDim: i32,
): void {
  for (let r = 0; r < n; r++) {
    const xr = x + ((<usize>r * inDim) << 2);
    const dyr = dy + ((<usize>r * outDim) << 2);
    for (let o = 0; o < outDim; o++) {
      const g = load<f32>(dyr + (<usize>o << 2));
      if (db != 0) {
        const dbo = db + (<usize>o << 2);
        store<f32>(dbo, load<f32>(dbo) + g);
      }
      if (dw != 0) axpy(dw + ((<usize>o * inDim) << 2), xr, g, inDim);
    }
    if (dx != 0) {
      const dxr = dx + ((<usize>r * inDim) << 2);
      zeroF32(dxr, inDim);
      for (let o = 0; o < outDim; o++) {
        axpy(dxr, w + ((<usize>o * inDim) << 2), load<f32>(dyr + (<usize>o << 2)), inDim);
      }
    }
  }
}
