// Between a loaded int8 graph and the f32 shadow weights of a trainer: dequantize the trained
// section's weights, and write a fine-tuned graph back out. Export changes only the trained
// tensors; every other tensor (frozen weights, activations, their quantization), every operator
// and the input/output quantization are copied as they are, so the frozen layers stay
// bit-identical. A trained weight keeps its original scale as long as its values still fit in
// [-127, 127] at that scale (so an untouched tensor round-trips to the same bytes); a channel
// that outgrew it gets the symmetric scale max|w| / 127, and its bias scale follows
// (input_scale * weight_scale, as TFLite requires). Activation quantization is never changed.
import { InvalidArgumentError } from "../errors.js";
import type { ModelGraph, Tensor } from "../model/types.js";
import type { ModelDesc, QuantizationDesc, TensorDesc } from "../model/writer.js";
import { roundHalfAway } from "../runtime/quant.js";

const f32 = Math.fround;

export interface TensorUpdate {
  data: Uint8Array;
  quantization: QuantizationDesc;
}

/** Per-channel layout of a weight tensor: channel of flat index i is floor(i / inner) % channels. */
function channelLayout(shape: number[], axis: number): { channels: number; inner: number } {
  if (axis < 0) return { channels: 1, inner: shape.reduce((a, b) => a * b, 1) || 1 };
  return { channels: shape[axis], inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

function int32s(t: Tensor): Int32Array {
  return new Int32Array(t.data!.slice().buffer); // copy: constant data may sit at any offset
}

/** Real values of an int8 weight tensor (symmetric, per tensor or per channel along `axis`). */
export function dequantizeWeights(t: Tensor, axis: number): Float32Array {
  const q = new Int8Array(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
  const scales = t.quantization!.scale;
  const { channels, inner } = channelLayout(t.shape, scales.length > 1 ? axis : -1);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = f32(q[i] * scales[channels === 1 ? 0 : Math.floor(i / inner) % channels]);
  return out;
}

/** Real values of an int32 bias tensor (one scale, or one per value). */
export function dequantizeBias(t: Tensor): Float32Array {
  const q = int32s(t);
  const scales = t.quantization!.scale;
  return Float32Array.from(q, (v, i) => f32(v * scales[scales.length === 1 ? 0 : i]));
}

/**
 * Requantize trained weights: original scale per channel while the values fit, else max|w|/127.
 * Returns the int8 values, the scales and which channels changed scale.
 */
export function requantizeWeights(w: Float32Array, t: Tensor, axis: number): { q: Int8Array; scales: number[]; changed: boolean[] } {
  const orig = t.quantization!.scale;
  const { channels, inner } = channelLayout(t.shape, orig.length > 1 ? axis : -1);
  const chan = (i: number) => (channels === 1 ? 0 : Math.floor(i / inner) % channels);
  const scales = orig.slice();
  const changed = scales.map(() => false);
  const maxAbs = new Float64Array(scales.length);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw new InvalidArgumentError(`${t.name || `tensor ${t.index}`}: trained weight ${i} is ${w[i]} (training diverged; lower the learning rate)`);
    maxAbs[chan(i)] = Math.max(maxAbs[chan(i)], Math.abs(w[i]));
  }
  scales.forEach((s, c) => {
    if (Math.abs(roundHalfAway(maxAbs[c] / s)) > 127) { scales[c] = f32(maxAbs[c] / 127); changed[c] = true; }
  });
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = roundHalfAway(w[i] / scales[chan(i)]);
    q[i] = v < -127 ? -127 : v > 127 ? 127 : v;
  }
  return { q, scales, changed };
}

/**
 * Requantize a trained (or re-scaled) bias. A channel whose weight scale did not change keeps
 * its stored bias scale; one that changed gets f32(input_scale * new weight_scale).
 */
export function requantizeBias(b: Float32Array, t: Tensor, inputScale: number, weightScales: number[], changed: boolean[]): { q: Int32Array; scales: number[] } {
  const orig = t.quantization!.scale;
  const perValue = orig.length > 1 || weightScales.length > 1;
  const scales = perValue
    ? Array.from(b, (_, c) => {
      const wc = weightScales.length === 1 ? 0 : c;
      return changed[wc] ? f32(f32(inputScale) * f32(weightScales[wc])) : orig[orig.length === 1 ? 0 : c];
    })
    : [changed[0] ? f32(f32(inputScale) * f32(weightScales[0])) : orig[0]];
  const q = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    if (!Number.isFinite(b[c])) throw new InvalidArgumentError(`${t.name || `tensor ${t.index}`}: trained bias ${c} is ${b[c]} (training diverged; lower the learning rate)`);
    const v = roundHalfAway(b[c] / scales[scales.length === 1 ? 0 : c]);
    q[c] = Math.max(-2147483647, Math.min(2147483647, v));
  }
  return { q, scales };
}

const bytesOf = (a: Int8Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/** A trained tensor's new data; the number of scales never changes, so the zero points are kept as stored. */
export function tensorUpdate(r: { q: Int8Array | Int32Array; scales: number[] }, t: Tensor): TensorUpdate {
  const q = t.quantization!;
  return { data: bytesOf(r.q), quantization: { scale: r.scales, zeroPoint: q.zeroPoint.slice(), quantizedDimension: q.quantizedDimension } };
}

/** The graph as a writer description, with some tensors' data and quantization replaced. */
export function graphToDesc(g: ModelGraph, updates: ReadonlyMap<number, TensorUpdate> = new Map()): ModelDesc {
  const tensors: TensorDesc[] = g.tensors.map((t) => {
    const u = updates.get(t.index);
    const q = t.quantization;
    return {
      name: t.name, type: t.type, shape: t.shape.slice(), isVariable: t.isVariable,
      data: u ? u.data : t.data,
      quantization: u ? u.quantization : q ? { scale: q.scale.slice(), zeroPoint: q.zeroPoint.slice(), quantizedDimension: q.quantizedDimension } : null,
    };
  });
  return {
    description: g.description,
    tensors,
    operators: g.operators.map((op) => ({
      opcode: op.opcode, version: op.version, inputs: op.inputs.slice(), outputs: op.outputs.slice(),
      intermediates: op.intermediates.slice(), options: { ...op.options },
    })),
    inputs: g.inputs.slice(),
    outputs: g.outputs.slice(),
  };
}
