// Prepare-time helpers shared by CONV_2D and DEPTHWISE_CONV_2D: validation of the quantized
// tensors, per-channel requantization tables and the int32 bias, built once at load.
import { Activation, Padding, TensorType, type Tensor } from "../../model/types.js";
import { activationRange, outSize, padBefore, quantizeMultiplier } from "../quant.js";
import type { PrepareContext } from "./types.js";

export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

const TYPE_NAMES = Object.fromEntries(Object.entries(TensorType).map(([k, v]) => [v, k]));
export const typeName = (t: number): string => TYPE_NAMES[t] ?? `type ${t}`;

/** Per-tensor (scale, zeroPoint) of an int8 activation tensor. */
export function activationQuant(ctx: PrepareContext, t: Tensor, what: string): { scale: number; zeroPoint: number } {
  ctx.check(t.type === TensorType.INT8, `${what} must be INT8, got ${typeName(t.type)}`);
  const q = t.quantization;
  ctx.check(q && q.scale.length >= 1 && q.zeroPoint.length >= 1, `${what} has no quantization parameters`);
  ctx.check(q!.scale.length === 1, `${what} must be quantized per tensor, has ${q!.scale.length} scales`);
  const scale = q!.scale[0], zeroPoint = q!.zeroPoint[0];
  ctx.check(Number.isFinite(scale) && scale > 0, `${what} scale must be positive, got ${scale}`);
  ctx.check(Number.isInteger(zeroPoint) && zeroPoint >= -128 && zeroPoint <= 127,
    `${what} zero point ${zeroPoint} is outside int8`);
  return { scale, zeroPoint };
}

/**
 * Per-output-channel weight scales (a per-tensor scale is replicated), checking int8, zero
 * points of 0, constant data and the quantized dimension.
 */
export function weightScales(ctx: PrepareContext, w: Tensor, channels: number, quantDim: number, what: string): number[] {
  ctx.check(w.type === TensorType.INT8, `${what} must be INT8, got ${typeName(w.type)}`);
  ctx.check(w.data !== null, `${what} must be a constant tensor`);
  const q = w.quantization;
  ctx.check(q && q.scale.length >= 1, `${what} has no quantization parameters`);
  const scales = q!.scale;
  ctx.check(scales.length === 1 || scales.length === channels,
    `${what} has ${scales.length} scales, expected 1 or ${channels} (one per output channel)`);
  if (scales.length > 1) {
    ctx.check(q!.quantizedDimension === quantDim,
      `${what} is quantized along dimension ${q!.quantizedDimension}, expected ${quantDim}`);
  }
  ctx.check(q!.zeroPoint.every((z) => z === 0), `${what} zero points must be 0`);
  for (const s of scales) ctx.check(Number.isFinite(s) && s > 0, `${what} has a non-positive scale ${s}`);
  return scales.length === 1 ? new Array(channels).fill(scales[0]) : scales.slice();
}

/**
 * int32 bias for `channels` outputs, zero-padded to `padTo` entries; zeros when absent.
 * Its quantization is not checked: TFLM ignores it (person_detect's depthwise biases carry a
 * quantized_dimension of 3 on a rank-1 tensor), the weights' scales are the ones that count.
 */
export function biasValues(ctx: PrepareContext, bias: Tensor | null, channels: number, padTo: number): Int32Array {
  const out = new Int32Array(padTo);
  if (!bias) return out;
  ctx.check(bias.type === TensorType.INT32, `bias must be INT32, got ${typeName(bias.type)}`);
  ctx.check(bias.data !== null, "bias must be a constant tensor");
  const n = bias.shape.reduce((a, b) => a * b, 1);
  ctx.check(n === channels, `bias has ${n} elements, expected ${channels} (one per output channel)`);
  ctx.check(bias.data!.byteLength >= 4 * n, `bias data holds ${bias.data!.byteLength} bytes, expected ${4 * n}`);
  const dv = new DataView(bias.data!.buffer, bias.data!.byteOffset, bias.data!.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
  return out;
}

/** The fast SIMD requantization's common shift: exact for right shifts 1..21. */
const FAST_SHIFT = 21;
/** The float32 requantization is used when every |acc * real| stays below this (the kernel's magic-number rounding needs < 2^22). */
const APPROX_LIMIT = 2 ** 21;

/**
 * The bias with the input zero point folded in: bias[c] - inZp * weightSum(c) for the `channels`
 * real channels (entries past them kept, zero), wrapping in int32 like the kernels' sums. Kernels
 * that take it sum raw inputs times weights.
 */
export function foldInputZeroPoint(bias: Int32Array, channels: number, inZp: number, weightSum: (c: number) => number): Int32Array {
  const out = Int32Array.from(bias);
  for (let c = 0; c < channels; c++) out[c] = (bias[c] - Math.imul(inZp, weightSum(c))) | 0;
  return out;
}

/**
 * Per-channel bound on |acc| = |bias + sum (x - inZp) * w| over all int8 inputs (capped at 2^31:
 * the int32 accumulator cannot exceed it in magnitude). `weightAbsSum(c)` is sum |w| of channel c.
 */
export function accumulatorBounds(bias: Int32Array, channels: number, inZp: number, weightAbsSum: (c: number) => number): number[] {
  const maxDev = Math.max(127 - inZp, inZp + 128);
  const out: number[] = [];
  for (let c = 0; c < channels; c++) out.push(Math.min(2 ** 31, Math.abs(bias[c]) + maxDev * weightAbsSum(c)));
  return out;
}

/**
 * The requantization table of assembly/kernels/requantize.ts for `channels` outputs, padded to
 * n = roundup(channels, 8): a 16-byte header (E, fast, left, approx) and the columns f64 2^-e,
 * multiplier, shift, 2^left, +-2^(e+9), 2^(E-e), then f32 scales and half-steps interleaved per
 * group of 8 channels.
 * `accBound` (per channel, see accumulatorBounds) enables the float32 path when it is provably
 * safe; without it the float32 path stays off.
 */
export function requantTable(inScale: number, wScales: number[], outScale: number, accBound?: number[]): Uint8Array {
  const channels = wScales.length;
  const n = roundUp(channels, 8);
  const bytes = new Uint8Array(16 + 40 * n);
  const head = new Int32Array(bytes.buffer, 0, 4);
  const col = (k: number) => new Int32Array(bytes.buffer, 16 + 4 * k * n, n);
  const rscale = new Float64Array(bytes.buffer, 16, n);
  const mult = col(2), shift = col(3), lmul = col(4), bound = col(5), negBound = col(6), align = col(7);
  // The float32 columns interleaved per group of 8 channels: [8 scales][8 half-steps].
  const fcols = new Float32Array(bytes.buffer, 16 + 32 * n, 2 * n);
  const rights: number[] = [];
  for (let c = 0; c < channels; c++) {
    // TFLite: double(input_scale) * double(filter_scale[c]) / double(output_scale).
    const real = (inScale * wScales[c]) / outScale;
    const { multiplier, shift: s } = quantizeMultiplier(real);
    const e = s > 0 ? 0 : -s;
    mult[c] = multiplier;
    shift[c] = s;
    lmul[c] = s > 0 ? 2 ** s : 1;
    rscale[c] = 2 ** -e;
    rights.push(e);
  }
  // e = 0 would let "+ output zero point" wrap around in int32 (as it does in TFLM's C); the
  // fast path's clamping would not reproduce that, so those ops take the general path.
  const fast = rights.every((e, c) => (e >= 1 && e <= FAST_SHIFT) || mult[c] === 0);
  const E = fast ? FAST_SHIFT : Math.max(1, ...rights);
  for (let c = 0; c < n; c++) {
    const e = c < channels ? rights[c] : 0;
    if (fast) {
      bound[c] = 2 ** (e + 9);
      negBound[c] = -(2 ** (e + 9));
      align[c] = 2 ** (E - e);
    }
  }
  // Float32 path (requantize.ts, "float32 requantization"): needs no left shift anywhere and
  // |z| = |acc * m * 2^-(31+e)| < 2^21 for every reachable accumulator.
  let approx = accBound !== undefined && accBound.length >= channels;
  for (let c = 0; approx && c < channels; c++) {
    if (mult[c] === 0) continue;
    if (shift[c] > 0 || accBound![c] * mult[c] * 2 ** -(31 + rights[c]) >= APPROX_LIMIT) approx = false;
  }
  if (approx) {
    for (let c = 0; c < channels; c++) {
      const at = 16 * (c >> 3) + (c & 7);
      fcols[at] = Math.fround(mult[c] * 2 ** -(31 + rights[c]));
      fcols[at + 8] = mult[c] === 0 || rights[c] === 0 ? 0 : 2 ** -(rights[c] + 1);
    }
  }
  head[0] = E;
  head[1] = fast ? 1 : 0;
  head[2] = shift.some((s) => s > 0) ? 1 : 0;
  head[3] = approx ? 1 : 0;
  return bytes;
}

export interface ConvGeometry {
  padding: number;
  strideH: number; strideW: number;
  dilationH: number; dilationW: number;
  outH: number; outW: number;
  padTop: number; padLeft: number;
  act: { min: number; max: number };
}

const ACTIVATIONS: number[] = [Activation.NONE, Activation.RELU, Activation.RELU_N1_TO_1, Activation.RELU6];

/** Reads and checks padding, strides, dilations and the fused activation of a conv op. */
export function convGeometry(
  ctx: PrepareContext, H: number, W: number, KH: number, KW: number, outScale: number, outZp: number,
): ConvGeometry {
  const o = ctx.op.options;
  const num = (name: string, dflt: number): number => {
    const v = o[name];
    return v === undefined ? dflt : Number(v);
  };
  const padding = num("padding", Padding.SAME);
  ctx.check(padding === Padding.SAME || padding === Padding.VALID, `unknown padding ${padding}`);
  const strideH = num("strideH", 1), strideW = num("strideW", 1);
  const dilationH = num("dilationHFactor", 1), dilationW = num("dilationWFactor", 1);
  for (const [name, v] of [["strideH", strideH], ["strideW", strideW], ["dilationHFactor", dilationH], ["dilationWFactor", dilationW]] as const) {
    ctx.check(Number.isInteger(v) && v >= 1, `${name} must be a positive integer, got ${v}`);
  }
  const act = num("fusedActivationFunction", Activation.NONE);
  ctx.check(ACTIVATIONS.includes(act), `fused activation ${act} is not supported (NONE, RELU, RELU_N1_TO_1, RELU6)`);
  const outH = outSize(padding, H, KH, strideH, dilationH);
  const outW = outSize(padding, W, KW, strideW, dilationW);
  ctx.check(outH >= 1 && outW >= 1, `the ${KH}x${KW} kernel (dilation ${dilationH}x${dilationW}) does not fit the ${H}x${W} input`);
  return {
    padding, strideH, strideW, dilationH, dilationW, outH, outW,
    padTop: padBefore(padding, H, KH, strideH, dilationH),
    padLeft: padBefore(padding, W, KW, strideW, dilationW),
    act: activationRange(act, outScale, outZp),
  };
}

export function checkRank4(ctx: PrepareContext, t: Tensor, what: string): number[] {
  ctx.check(t.shape.length === 4, `${what} must have rank 4, has shape [${t.shape.join(",")}]`);
  ctx.check(t.shape.every((d) => Number.isInteger(d) && d >= 1), `${what} has an empty dimension: [${t.shape.join(",")}]`);
  return t.shape;
}
