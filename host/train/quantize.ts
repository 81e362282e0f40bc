// Post-training quantization: a trained f32 Sequential model plus calibration samples -> an int8
// model description for the .tflite writer (host/model/writer.ts), following the conventions of
// TFLite's converter (see ../shared/notes/int8-arithmetic.md):
//   - activations: int8 per tensor, asymmetric, range from calibration min/max widened to
//     include 0 and nudged so 0 is exactly representable (integer zero point);
//   - CONV_2D weights OHWI, DEPTHWISE weights [1,KH,KW,C*M]: int8 per output channel, symmetric
//     in [-127, 127], zero point 0, quantized_dimension 0 (conv) / 3 (depthwise);
//   - FULLY_CONNECTED weights [out, in]: int8 per tensor, symmetric;
//   - bias int32, scale = input_scale * weight_scale[c], zero point 0;
//   - pools and RESHAPE keep their input's scale and zero point; a fused RELU simply gives a
//     calibrated range starting at 0 (zero point -128);
//   - SOFTMAX output int8, scale 1/256, zero point -128.
// Scales are rounded to float32 before use, since that is what the file stores.
import { InvalidArgumentError } from "../errors.js";
import { Activation as Act, BuiltinOp, Padding, TensorType } from "../model/types.js";
import type { ModelDesc, OperatorDesc, TensorDesc } from "../model/writer.js";
import { roundHalfAway } from "../runtime/quant.js";
import type { Sequential, LayerSpec } from "./model.js";
import type { Dataset } from "./train.js";

/** TFLite op versions for the int8 kernels emitted here (what TFLite's converter writes). */
export const OP_VERSIONS = {
  CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4, AVERAGE_POOL_2D: 2, MAX_POOL_2D: 2,
  RESHAPE: 1, SOFTMAX: 2,
} as const;

export interface QuantParams { scale: number; zeroPoint: number }

export interface QuantizeOptions {
  /** Fixed input quantization (e.g. pixels k/255 -> scale 1/255, zero point -128); default: calibrated. */
  input?: QuantParams;
  /** Append SOFTMAX to the logits (default true when the last layer is a dense without activation). */
  softmax?: boolean;
  /** Calibration samples to use (default: all of the calibration set). */
  maxSamples?: number;
  description?: string;
}

export interface QuantizedModel {
  desc: ModelDesc;
  /** Quantization of the graph input, to turn float samples into the model's int8 input. */
  input: QuantParams;
  /** Quantization of the graph output. */
  output: QuantParams;
  /** Calibrated float range of each layer's output (after its activation). */
  ranges: { min: number; max: number }[];
}

const f32 = Math.fround;

/**
 * Asymmetric int8 parameters for a real range, TFLite's way: widen to include 0, scale =
 * (max - min) / 255, zero point = round(-128 - min / scale) clamped to [-128, 127].
 */
export function asymmetricParams(min: number, max: number): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new InvalidArgumentError(`cannot quantize the range [${min}, ${max}]`);
  }
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = f32((hi - lo) / 255);
  const zpFromMin = -128 - lo / scale;
  const zeroPoint = zpFromMin <= -128 ? -128 : zpFromMin >= 127 ? 127 : roundHalfAway(zpFromMin);
  return { scale, zeroPoint };
}

/** Real value -> int8 with the given parameters (round half away from zero, saturate). */
export function quantizeValue(v: number, q: QuantParams): number {
  const r = q.zeroPoint + roundHalfAway(v / q.scale);
  return r < -128 ? -128 : r > 127 ? 127 : r;
}

/**
 * Symmetric int8 quantization of `w`, one scale per slice along `axis` of `shape`
 * (axis -1: one scale for the whole tensor). Values land in [-127, 127].
 */
export function quantizeSymmetric(w: Float32Array, shape: number[], axis: number): { q: Int8Array; scales: number[] } {
  const channels = axis < 0 ? 1 : shape[axis];
  const inner = axis < 0 ? 1 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number) => (axis < 0 ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) maxAbs[chanOf(i)] = Math.max(maxAbs[chanOf(i)], Math.abs(w[i]));
  // An all-zero channel quantizes to zeros with any scale; 1 keeps its bias scale sane.
  const scales = Array.from(maxAbs, (m) => (m > 0 ? f32(m / 127) : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = roundHalfAway(w[i] / scales[chanOf(i)]);
    q[i] = v < -127 ? -127 : v > 127 ? 127 : v;
  }
  return { q, scales };
}

/** int32 bias with scale inputScale * weightScale[c] (computed in float32 as the converter does); one scale per weight scale. */
export function quantizeBias(b: Float32Array, inputScale: number, weightScales: number[]): { q: Int32Array; scales: number[] } {
  if (weightScales.length !== 1 && weightScales.length !== b.length) {
    throw new InvalidArgumentError(`bias has ${b.length} values but there are ${weightScales.length} weight scales`);
  }
  const scales = weightScales.map((ws) => f32(f32(inputScale) * f32(ws)));
  const q = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    const v = roundHalfAway(b[c] / scales[scales.length === 1 ? 0 : c]);
    q[c] = Math.max(-2147483647, Math.min(2147483647, v));
  }
  return { q, scales };
}

/** Calibrated [min, max] of every layer's output over the samples (float forward passes). */
export function calibrate(model: Sequential, data: Dataset, maxSamples = data.count): { min: number; max: number }[] {
  const count = Math.min(maxSamples, data.count);
  if (count <= 0) throw new InvalidArgumentError("calibration needs at least one sample");
  if (data.sampleSize !== model.inputSize) {
    throw new InvalidArgumentError(`calibration samples have ${data.sampleSize} values, the model takes ${model.inputSize}`);
  }
  const ranges = model.layers.map(() => ({ min: Infinity, max: -Infinity }));
  for (let from = 0; from < count; from += model.maxBatch) {
    const n = Math.min(model.maxBatch, count - from);
    model.setInput(data.x.subarray(from * data.sampleSize, (from + n) * data.sampleSize), n);
    model.forward(n);
    model.layers.forEach((_, i) => {
      const a = model.activation(i, n);
      const r = ranges[i];
      for (let j = 0; j < a.length; j++) {
        const v = a[j];
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
      }
    });
  }
  return ranges;
}

const bytesOf = (a: Int8Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

const pair = (v: number | [number, number] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : v;

/** Quantize a trained model into an int8 .tflite description. */
export function quantizeModel(model: Sequential, calibration: Dataset, opts: QuantizeOptions = {}): QuantizedModel {
  const ranges = calibrate(model, calibration, opts.maxSamples);
  const weights = model.getWeights();
  const tensors: TensorDesc[] = [];
  const operators: OperatorDesc[] = [];
  const addTensor = (t: TensorDesc): number => { tensors.push(t); return tensors.length - 1; };
  const actTensor = (name: string, shape: number[], q: QuantParams) =>
    addTensor({ name, type: TensorType.INT8, shape, quantization: { scale: [q.scale], zeroPoint: [q.zeroPoint] } });

  let inQ: QuantParams;
  if (opts.input) {
    inQ = { scale: f32(opts.input.scale), zeroPoint: opts.input.zeroPoint };
    if (!(inQ.scale > 0) || !Number.isInteger(inQ.zeroPoint) || inQ.zeroPoint < -128 || inQ.zeroPoint > 127) {
      throw new InvalidArgumentError(`input quantization needs scale > 0 and an integer zero point in [-128, 127]`);
    }
  } else {
    let min = Infinity, max = -Infinity;
    const n = Math.min(opts.maxSamples ?? calibration.count, calibration.count) * calibration.sampleSize;
    for (let i = 0; i < n; i++) { min = Math.min(min, calibration.x[i]); max = Math.max(max, calibration.x[i]); }
    inQ = asymmetricParams(min, max);
  }
  const inputShape = [1, ...model.spec.input];
  let cur = actTensor("input", inputShape, inQ);
  let curQ = inQ;
  const inputIndex = cur;

  model.layers.forEach((layer, i) => {
    const ls: LayerSpec = layer.spec;
    const name = `layers[${i}]`;
    const outShape = [1, ...layer.outShape];
    const relu = layer.activation === "relu";
    const act = relu ? Act.RELU : Act.NONE;
    switch (ls.type) {
      case "conv2d":
      case "depthwise": {
        const isConv = ls.type === "conv2d";
        const w = weights.get(`${name}.weight`)!, b = weights.get(`${name}.bias`)!;
        const wShape = layer.params[0].shape;
        const axis = isConv ? 0 : 3;
        const wq = quantizeSymmetric(w, wShape, axis);
        const bq = quantizeBias(b, curQ.scale, wq.scales);
        const wt = addTensor({
          name: `${name}.weight`, type: TensorType.INT8, shape: wShape, data: bytesOf(wq.q),
          quantization: { scale: wq.scales, zeroPoint: wq.scales.map(() => 0), quantizedDimension: axis },
        });
        const bt = addTensor({
          name: `${name}.bias`, type: TensorType.INT32, shape: [b.length], data: bytesOf(bq.q),
          quantization: { scale: bq.scales, zeroPoint: bq.scales.map(() => 0), quantizedDimension: 0 },
        });
        const outQ = asymmetricParams(ranges[i].min, ranges[i].max);
        const out = actTensor(`${name}.output`, outShape, outQ);
        const [sh, sw] = pair(ls.stride, 1);
        const padding = (ls.padding ?? "same") === "same" ? Padding.SAME : Padding.VALID;
        operators.push(isConv
          ? {
            opcode: BuiltinOp.CONV_2D, version: OP_VERSIONS.CONV_2D, inputs: [cur, wt, bt], outputs: [out],
            options: { padding, strideW: sw, strideH: sh, fusedActivationFunction: act, dilationWFactor: 1, dilationHFactor: 1 },
          }
          : {
            opcode: BuiltinOp.DEPTHWISE_CONV_2D, version: OP_VERSIONS.DEPTHWISE_CONV_2D, inputs: [cur, wt, bt], outputs: [out],
            options: {
              padding, strideW: sw, strideH: sh, depthMultiplier: (ls as { multiplier?: number }).multiplier ?? 1,
              fusedActivationFunction: act, dilationWFactor: 1, dilationHFactor: 1,
            },
          });
        cur = out; curQ = outQ;
        break;
      }
      case "avgpool":
      case "maxpool": {
        const [kh, kw] = pair(ls.pool, 2), [sh, sw] = pair(ls.stride, kh === kw ? kh : 1);
        // TFLite's int8 pools require the output to share the input's quantization.
        const out = actTensor(`${name}.output`, outShape, curQ);
        const isAvg = ls.type === "avgpool";
        operators.push({
          opcode: isAvg ? BuiltinOp.AVERAGE_POOL_2D : BuiltinOp.MAX_POOL_2D,
          version: isAvg ? OP_VERSIONS.AVERAGE_POOL_2D : OP_VERSIONS.MAX_POOL_2D,
          inputs: [cur], outputs: [out],
          options: {
            padding: (ls.padding ?? "valid") === "same" ? Padding.SAME : Padding.VALID,
            strideW: sw, strideH: sh, filterWidth: kw, filterHeight: kh, fusedActivationFunction: Act.NONE,
          },
        });
        cur = out;
        break;
      }
      case "flatten": {
        const shapeData = Int32Array.from(outShape);
        const st = addTensor({ name: `${name}.shape`, type: TensorType.INT32, shape: [outShape.length], data: bytesOf(shapeData) });
        const out = actTensor(`${name}.output`, outShape, curQ);
        operators.push({
          opcode: BuiltinOp.RESHAPE, version: OP_VERSIONS.RESHAPE, inputs: [cur, st], outputs: [out],
          options: { newShape: Array.from(outShape) },
        });
        cur = out;
        break;
      }
      case "dense": {
        const w = weights.get(`${name}.weight`)!, b = weights.get(`${name}.bias`)!;
        const wShape = layer.params[0].shape;
        const wq = quantizeSymmetric(w, wShape, -1);
        const bq = quantizeBias(b, curQ.scale, wq.scales);
        const wt = addTensor({
          name: `${name}.weight`, type: TensorType.INT8, shape: wShape, data: bytesOf(wq.q),
          quantization: { scale: wq.scales, zeroPoint: [0] },
        });
        const bt = addTensor({
          name: `${name}.bias`, type: TensorType.INT32, shape: [b.length], data: bytesOf(bq.q),
          quantization: { scale: bq.scales, zeroPoint: [0] },
        });
        const outQ = asymmetricParams(ranges[i].min, ranges[i].max);
        const out = actTensor(`${name}.output`, outShape, outQ);
        operators.push({
          opcode: BuiltinOp.FULLY_CONNECTED, version: OP_VERSIONS.FULLY_CONNECTED, inputs: [cur, wt, bt], outputs: [out],
          options: { fusedActivationFunction: act, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false },
        });
        cur = out; curQ = outQ;
        break;
      }
    }
  });

  const last = model.layers[model.layers.length - 1];
  const addSoftmax = opts.softmax ?? (last?.spec.type === "dense" && last.activation === "none");
  if (addSoftmax) {
    const outQ = { scale: f32(1 / 256), zeroPoint: -128 };
    const out = actTensor("softmax", tensors[cur].shape, outQ);
    operators.push({ opcode: BuiltinOp.SOFTMAX, version: OP_VERSIONS.SOFTMAX, inputs: [cur], outputs: [out], options: { beta: 1 } });
    cur = out; curQ = outQ;
  }
  const desc: ModelDesc = {
    description: opts.description ?? "qedge post-training int8 quantization",
    tensors, operators, inputs: [inputIndex], outputs: [cur],
  };
  return { desc, input: inQ, output: curQ, ranges };
}

/** Float samples -> int8 model input. */
export function quantizeInput(x: ArrayLike<number>, q: QuantParams, out: Int8Array<ArrayBufferLike> = new Int8Array(x.length)): Int8Array<ArrayBufferLike> {
  for (let i = 0; i < x.length; i++) out[i] = quantizeValue(x[i], q);
  return out;
}
