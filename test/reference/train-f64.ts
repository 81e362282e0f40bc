// Straightforward f64 reference for the training kernels' forward maths, written independently of
// assembly/train (direct loops, bounds checks per window cell). Used for forward comparisons and,
// through central differences, as the ground truth for every gradient.

export type Pad = "same" | "valid";

/** TFLite output size and leading pad along one axis (dilation 1). */
export function axis(inSize: number, k: number, stride: number, pad: Pad): { out: number; before: number } {
  if (pad === "valid") return { out: Math.floor((inSize - k) / stride) + 1, before: 0 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return { out, before: Math.floor(total / 2) };
}

export interface Img { n: number; h: number; w: number; c: number; data: Float64Array }

const at = (im: Img, n: number, y: number, x: number, c: number) => im.data[((n * im.h + y) * im.w + x) * im.c + c];

/** CONV_2D: weights [O, KH, KW, C]. */
export function conv2d(x: Img, w: ArrayLike<number>, b: ArrayLike<number>, o: number, kh: number, kw: number,
  sh: number, sw: number, pad: Pad): Img {
  const ay = axis(x.h, kh, sh, pad), ax = axis(x.w, kw, sw, pad);
  const out: Img = { n: x.n, h: ay.out, w: ax.out, c: o, data: new Float64Array(x.n * ay.out * ax.out * o) };
  let i = 0;
  for (let n = 0; n < x.n; n++) for (let oy = 0; oy < ay.out; oy++) for (let ox = 0; ox < ax.out; ox++) for (let oc = 0; oc < o; oc++) {
    let s = b[oc];
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * sh - ay.before + ky, ix = ox * sw - ax.before + kx;
      if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
      for (let c = 0; c < x.c; c++) s += at(x, n, iy, ix, c) * w[((oc * kh + ky) * kw + kx) * x.c + c];
    }
    out.data[i++] = s;
  }
  return out;
}

/** DEPTHWISE_CONV_2D: weights [1, KH, KW, C*M]; output channel c*M + j reads input channel c. */
export function depthwise(x: Img, w: ArrayLike<number>, b: ArrayLike<number>, m: number, kh: number, kw: number,
  sh: number, sw: number, pad: Pad): Img {
  const ay = axis(x.h, kh, sh, pad), ax = axis(x.w, kw, sw, pad);
  const oc = x.c * m;
  const out: Img = { n: x.n, h: ay.out, w: ax.out, c: oc, data: new Float64Array(x.n * ay.out * ax.out * oc) };
  let i = 0;
  for (let n = 0; n < x.n; n++) for (let oy = 0; oy < ay.out; oy++) for (let ox = 0; ox < ax.out; ox++) for (let q = 0; q < oc; q++) {
    const c = Math.floor(q / m);
    let s = b[q];
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * sh - ay.before + ky, ix = ox * sw - ax.before + kx;
      if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
      s += at(x, n, iy, ix, c) * w[(ky * kw + kx) * oc + q];
    }
    out.data[i++] = s;
  }
  return out;
}

/** Average (cells inside the input only) or max pooling. */
export function pool(kind: "avg" | "max", x: Img, kh: number, kw: number, sh: number, sw: number, pad: Pad): Img {
  const ay = axis(x.h, kh, sh, pad), ax = axis(x.w, kw, sw, pad);
  const out: Img = { n: x.n, h: ay.out, w: ax.out, c: x.c, data: new Float64Array(x.n * ay.out * ax.out * x.c) };
  let i = 0;
  for (let n = 0; n < x.n; n++) for (let oy = 0; oy < ay.out; oy++) for (let ox = 0; ox < ax.out; ox++) for (let c = 0; c < x.c; c++) {
    let s = 0, count = 0, mx = -Infinity;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * sh - ay.before + ky, ix = ox * sw - ax.before + kx;
      if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
      const v = at(x, n, iy, ix, c);
      s += v; count++; mx = Math.max(mx, v);
    }
    out.data[i++] = kind === "avg" ? s / count : mx;
  }
  return out;
}

/** FULLY_CONNECTED: x [n, in], w [out, in]. */
export function dense(x: ArrayLike<number>, n: number, inDim: number, w: ArrayLike<number>, b: ArrayLike<number>, outDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) for (let o = 0; o < outDim; o++) {
    let s = b[o];
    for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
    y[r * outDim + o] = s;
  }
  return y;
}

export function relu(v: Float64Array): Float64Array { return v.map((a) => (a > 0 ? a : 0)); }

/** Mean softmax cross-entropy of rows of z [n, k]. */
export function softmaxCrossEntropy(z: ArrayLike<number>, labels: ArrayLike<number>, n: number, k: number): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let i = 0; i < k; i++) m = Math.max(m, z[r * k + i]);
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.exp(z[r * k + i] - m);
    total += Math.log(s) + m - z[r * k + labels[r]];
  }
  return total / n;
}

export function meanSquaredError(p: ArrayLike<number>, t: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (p[i] - t[i]) ** 2;
  return s / p.length;
}

/** Σ r[i] * y[i]: a scalar whose gradient with respect to y is r (the "upstream gradient"). */
export function project(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/** Central differences of f at every element of v (v is perturbed and restored). */
export function numericGradient(f: () => number, v: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + h; const up = f();
    v[i] = keep - h; const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
