// Plain TypeScript references for FULLY_CONNECTED, pooling, ADD, MUL, QUANTIZE and DEQUANTIZE,
// written straight from the rules in ../shared/notes/int8-arithmetic.md and TFLM's reference
// kernels (element by element, no packing, no folding, BigInt where 64-bit products appear).

import { srdhm, mbqm } from "./gemmlowp.js";
import { quantizeMultiplier, activationRange } from "./tflite-quant.js";

export { srdhm, mbqm };
export const refQuantizeMultiplier = quantizeMultiplier;
export const refActivationRange = activationRange;
const wrap32 = (x: number) => x | 0;
const roundAway = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export interface FcRef {
  input: Int8Array; inZp: number; weights: Int8Array; bias: Int32Array | null;
  batches: number; inDepth: number; outDepth: number;
  multipliers: number[]; shifts: number[]; outZp: number; lo: number; hi: number;
}

/** TFLM reference_integer_ops::FullyConnected(PerChannel) with weight zero point 0. */
export function fullyConnectedRef(p: FcRef): Int8Array {
  const out = new Int8Array(p.batches * p.outDepth);
  for (let b = 0; b < p.batches; b++) {
    for (let c = 0; c < p.outDepth; c++) {
      let acc = 0;
      for (let d = 0; d < p.inDepth; d++) {
        acc = wrap32(acc + p.weights[c * p.inDepth + d] * (p.input[b * p.inDepth + d] - p.inZp));
      }
      if (p.bias) acc = wrap32(acc + p.bias[c]);
      const v = mbqm(acc, p.multipliers[c], p.shifts[c]) + p.outZp;
      out[b * p.outDepth + c] = clamp(v, p.lo, p.hi);
    }
  }
  return out;
}

export interface PoolRef {
  input: Int8Array; batches: number; inH: number; inW: number; channels: number;
  outH: number; outW: number; fH: number; fW: number; sH: number; sW: number;
  padT: number; padL: number; lo: number; hi: number;
}

/** TFLM reference_integer_ops::AveragePool / MaxPool. */
export function poolRef(p: PoolRef, isMax: boolean): Int8Array {
  const out = new Int8Array(p.batches * p.outH * p.outW * p.channels);
  for (let b = 0; b < p.batches; b++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = 0; c < p.channels; c++) {
          let acc = isMax ? -128 : 0;
          let n = 0;
          for (let fy = 0; fy < p.fH; fy++) {
            for (let fx = 0; fx < p.fW; fx++) {
              const y = oy * p.sH - p.padT + fy;
              const x = ox * p.sW - p.padL + fx;
              if (y < 0 || y >= p.inH || x < 0 || x >= p.inW) continue;
              const v = p.input[((b * p.inH + y) * p.inW + x) * p.channels + c];
              acc = isMax ? Math.max(acc, v) : acc + v;
              n++;
            }
          }
          let r: number;
          if (isMax) r = acc;
          else {
            if (n === 0) throw new Error("empty window");
            r = Math.trunc((acc > 0 ? acc + Math.trunc(n / 2) : acc - Math.trunc(n / 2)) / n);
          }
          out[((b * p.outH + oy) * p.outW + ox) * p.channels + c] = clamp(r, p.lo, p.hi);
        }
      }
    }
  }
  return out;
}

/** NumPy broadcasting: output shape and, for each output index, the flat index into each input. */
export function broadcastIndex(a: number[], b: number[]): { shape: number[]; ia: number[]; ib: number[] } {
  const rank = Math.max(a.length, b.length);
  const ea = [...new Array(rank - a.length).fill(1), ...a];
  const eb = [...new Array(rank - b.length).fill(1), ...b];
  const shape = ea.map((d, i) => {
    if (d !== eb[i] && d !== 1 && eb[i] !== 1) throw new Error("not broadcastable");
    return Math.max(d, eb[i]);
  });
  const total = shape.reduce((x, y) => x * y, 1);
  const ia: number[] = [];
  const ib: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    const idx = new Array(rank).fill(0);
    for (let i = rank - 1; i >= 0; i--) { idx[i] = rem % shape[i]; rem = Math.floor(rem / shape[i]); }
    let fa = 0, fb = 0;
    for (let i = 0; i < rank; i++) {
      fa = fa * ea[i] + (ea[i] === 1 ? 0 : idx[i]);
      fb = fb * eb[i] + (eb[i] === 1 ? 0 : idx[i]);
    }
    ia.push(fa);
    ib.push(fb);
  }
  return { shape, ia, ib };
}

export interface Quant { scale: number; zp: number }

/** TFLM int8 ADD (add_common.cc multipliers, AddFunc arithmetic). */
export function addRef(x: Int8Array, shapeX: number[], qx: Quant, y: Int8Array, shapeY: number[], qy: Quant,
  qo: Quant, act: number): Int8Array {
  const leftShift = 20;
  const twiceMax = 2 * Math.max(qx.scale, qy.scale);
  const m1 = refQuantizeMultiplier(qx.scale / twiceMax);
  const m2 = refQuantizeMultiplier(qy.scale / twiceMax);
  const mo = refQuantizeMultiplier(twiceMax / (2 ** leftShift * qo.scale));
  const [lo, hi] = refActivationRange(act, qo.scale, qo.zp);
  const { ia, ib } = broadcastIndex(shapeX, shapeY);
  const out = new Int8Array(ia.length);
  for (let i = 0; i < ia.length; i++) {
    const a = mbqm((x[ia[i]] - qx.zp) * 2 ** leftShift, m1.multiplier, m1.shift);
    const b = mbqm((y[ib[i]] - qy.zp) * 2 ** leftShift, m2.multiplier, m2.shift);
    out[i] = clamp(mbqm(a + b, mo.multiplier, mo.shift) + qo.zp, lo, hi);
  }
  return out;
}

/** TFLM int8 MUL: one multiplier in1_scale * in2_scale / out_scale. */
export function mulRef(x: Int8Array, shapeX: number[], qx: Quant, y: Int8Array, shapeY: number[], qy: Quant,
  qo: Quant, act: number): Int8Array {
  const m = refQuantizeMultiplier(qx.scale * qy.scale / qo.scale);
  const [lo, hi] = refActivationRange(act, qo.scale, qo.zp);
  const { ia, ib } = broadcastIndex(shapeX, shapeY);
  const out = new Int8Array(ia.length);
  for (let i = 0; i < ia.length; i++) {
    const prod = (x[ia[i]] - qx.zp) * (y[ib[i]] - qy.zp);
    out[i] = clamp(mbqm(prod, m.multiplier, m.shift) + qo.zp, lo, hi);
  }
  return out;
}

/** TFLM AffineQuantize float32 -> int8: round(val / scale) in float32, halves away from zero. */
export function quantizeRef(x: Float32Array, scale: number, zp: number): Int8Array {
  const s = Math.fround(scale);
  return Int8Array.from(x, (v) => clamp(roundAway(Math.fround(v / s)) + zp, -128, 127));
}

/** TFLM Requantize int8 -> int8. */
export function requantizeRef(x: Int8Array, inScale: number, inZp: number, outScale: number, outZp: number): Int8Array {
  const m = refQuantizeMultiplier(inScale / outScale);
  return Int8Array.from(x, (v) => clamp(mbqm(v - inZp, m.multiplier, m.shift) + outZp, -128, 127));
}

/** TFLM Dequantize: static_cast<float>((double)scale * (q - zp)). */
export function dequantizeRef(x: Int8Array, scale: number, zp: number): Float32Array {
  const s = Math.fround(scale);
  return Float32Array.from(x, (v) => Math.fround(s * (v - zp)));
}
