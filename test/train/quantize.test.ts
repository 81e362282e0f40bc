// Post-training quantization: parameter rules by hand, weight round trips, the description's
// structure, and the written .tflite run by qedge's runtime against an independent int8
// interpreter of the same description (test/reference/int8-graph.ts), tensor by tensor.
import { describe, expect, test } from "vitest";
import { Sequential, type ModelSpec } from "../../host/train/model.js";
import { Adam } from "../../host/train/optimizers.js";
import { fitClassifier, evaluateClassifier, argmax, type Dataset } from "../../host/train/train.js";
import {
  asymmetricParams, quantizeSymmetric, quantizeBias, quantizeModel, quantizeInput, quantizeValue, OP_VERSIONS,
} from "../../host/train/quantize.js";
import { writeModel } from "../../host/model/writer.js";
import { loadModelSync, parseModel } from "../../host/index.js";
import { BuiltinOp, TensorType } from "../../host/model/types.js";
import { InvalidArgumentError } from "../../host/errors.js";
import { runInt8Graph } from "../reference/int8-graph.js";
import { randomF32 } from "./helpers.js";
import { rng } from "../helpers/kernel-harness.js";

describe("quantization parameters", () => {
  test("asymmetric activations: 0 exactly representable, TFLite's zero-point rule", () => {
    // [0, 2.55]: scale 2.55/255 = 0.01, zero point -128 - 0/0.01 = -128
    expect(asymmetricParams(0, 2.55)).toEqual({ scale: Math.fround(0.01), zeroPoint: -128 });
    // a range above 0 is widened to start at 0 (what a fused RELU's output needs)
    expect(asymmetricParams(0.5, 2.55)).toEqual({ scale: Math.fround(0.01), zeroPoint: -128 });
    // a range below 0 is widened to end at 0: zero point at the top
    expect(asymmetricParams(-2.55, -1)).toEqual({ scale: Math.fround(0.01), zeroPoint: 127 });
    // [-1, 1]: scale 2/255, zero point -128 + 127.5 = -0.5 -> rounds away from zero to -1
    const sym = asymmetricParams(-1, 1);
    expect(sym.scale).toBe(Math.fround(2 / 255));
    expect(sym.zeroPoint).toBe(-1);
    // [-0.3, 5]: scale 5.3/255; zero point -128 + 0.3/scale = -128 + 14.43 -> -114
    expect(asymmetricParams(-0.3, 5)).toEqual({ scale: Math.fround(5.3 / 255), zeroPoint: -114 });
    expect(() => asymmetricParams(1, 0)).toThrow(InvalidArgumentError);
    expect(() => asymmetricParams(NaN, 0)).toThrow(InvalidArgumentError);
  });

  test("quantizeValue rounds half away from zero and saturates", () => {
    const q = { scale: 0.5, zeroPoint: 3 };
    expect([0.25, -0.25, 0.74, 100, -100].map((v) => quantizeValue(v, q))).toEqual([4, 2, 4, 127, -128]);
  });

  test.each([
    { name: "conv OHWI per channel (dim 0)", shape: [5, 3, 3, 4], axis: 0 },
    { name: "depthwise [1,KH,KW,C] per channel (dim 3)", shape: [1, 3, 3, 6], axis: 3 },
    { name: "fully connected per tensor", shape: [7, 20], axis: -1 },
  ])("symmetric weights round trip within half a step: $name", ({ shape, axis }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = Float32Array.from(randomF32(90, n), (v, i) => v * (1 + (i % 3))); // channels of different ranges
    const { q, scales } = quantizeSymmetric(w, shape, axis);
    const channels = axis < 0 ? 1 : shape[axis];
    const inner = axis < 0 ? 1 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    expect(scales.length).toBe(channels);
    const maxQ = new Array(channels).fill(0);
    for (let i = 0; i < n; i++) {
      const c = axis < 0 ? 0 : Math.floor(i / inner) % channels;
      expect(Math.abs(q[i])).toBeLessThanOrEqual(127);
      // within half a step, plus float32 rounding of the scale itself
      expect(Math.abs(q[i] * scales[c] - w[i])).toBeLessThanOrEqual(scales[c] / 2 * (1 + 1e-6));
      maxQ[c] = Math.max(maxQ[c], Math.abs(q[i]));
    }
    // each channel's largest magnitude maps to 127: the full range is used
    expect(maxQ).toEqual(new Array(channels).fill(127));
  });

  test("an all-zero channel quantizes to zeros with a usable scale", () => {
    const { q, scales } = quantizeSymmetric(Float32Array.from([0, 0, 0.5, -1]), [2, 2], 0);
    expect(Array.from(q)).toEqual([0, 0, 64, -127]);
    expect(scales[0]).toBe(1);
  });

  test("bias: int32 with scale input_scale * weight_scale, within half a step", () => {
    const b = Float32Array.from([0.1, -0.25, 3, 0]);
    const ws = [0.01, 0.02, 0.005, 0.1];
    const { q, scales } = quantizeBias(b, 0.05, ws);
    ws.forEach((s, c) => {
      expect(scales[c]).toBe(Math.fround(Math.fround(0.05) * Math.fround(s)));
      expect(Math.abs(q[c] * scales[c] - b[c])).toBeLessThanOrEqual(scales[c] / 2 * (1 + 1e-6));
    });
    expect(Array.from(q)).toEqual([200, -250, 12000, 0]); // 0.1/0.0005, -0.25/0.001, 3/0.00025
    expect(quantizeBias(b, 0.05, [0.01]).scales).toEqual([Math.fround(Math.fround(0.05) * Math.fround(0.01))]);
    expect(() => quantizeBias(b, 0.05, [1, 2])).toThrow(InvalidArgumentError);
  });
});

// A small classifier using every op the quantizer emits, trained briefly on a synthetic task
// (class = quadrant of the brightest blob) so activations have realistic ranges.
const SPEC: ModelSpec = {
  input: [8, 8, 2],
  layers: [
    { type: "conv2d", filters: 6, kernel: 3, stride: 1, padding: "same", activation: "relu" },
    { type: "maxpool", pool: 2 },
    { type: "depthwise", kernel: 3, stride: 1, padding: "same", multiplier: 2, activation: "relu" },
    { type: "avgpool", pool: 2, stride: 1, padding: "valid" },
    { type: "conv2d", filters: 8, kernel: 3, stride: 2, padding: "valid" },
    { type: "flatten" },
    { type: "dense", units: 4 },
  ],
};

function syntheticData(seed: number, count: number): Dataset {
  const r = rng(seed);
  const x = new Float32Array(count * 128), y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const cls = Math.floor(r() * 4);
    y[i] = cls;
    const cy = (cls >> 1) * 4 + 1 + Math.floor(r() * 2), cx = (cls & 1) * 4 + 1 + Math.floor(r() * 2);
    for (let p = 0; p < 64; p++) {
      const py = p >> 3, px = p & 7;
      const blob = Math.exp(-((py - cy) ** 2 + (px - cx) ** 2) / 2);
      x[i * 128 + p * 2] = Math.fround(blob + 0.3 * r());
      x[i * 128 + p * 2 + 1] = Math.fround(0.5 * r() - 0.25);
    }
  }
  return { x, y, count, sampleSize: 128 };
}

describe("quantizeModel", () => {
  const train = syntheticData(1, 400), heldOut = syntheticData(2, 100);
  const model = new Sequential(SPEC, { maxBatch: 16, seed: 5 });
  fitClassifier(model, train, { epochs: 4, batchSize: 16, optimizer: new Adam(model, { lr: 3e-3 }), seed: 5 });
  const floatEval = evaluateClassifier(model, heldOut);
  const qm = quantizeModel(model, train, { maxSamples: 200 });
  const bytes = writeModel(qm.desc);

  test("the float model learned the task (so the comparisons below mean something)", () => {
    expect(floatEval.accuracy).toBeGreaterThan(0.8);
  });

  test("description follows the conventions: op versions, quantized dimensions, bias scales, RELU and softmax outputs", () => {
    const { desc } = qm;
    const ops = desc.operators.map((o) => o.opcode);
    expect(ops).toEqual([BuiltinOp.CONV_2D, BuiltinOp.MAX_POOL_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.AVERAGE_POOL_2D,
      BuiltinOp.CONV_2D, BuiltinOp.RESHAPE, BuiltinOp.FULLY_CONNECTED, BuiltinOp.SOFTMAX]);
    const versions: Record<number, number> = {
      [BuiltinOp.CONV_2D]: 3, [BuiltinOp.DEPTHWISE_CONV_2D]: 3, [BuiltinOp.FULLY_CONNECTED]: 4,
      [BuiltinOp.AVERAGE_POOL_2D]: 2, [BuiltinOp.MAX_POOL_2D]: 2, [BuiltinOp.RESHAPE]: 1, [BuiltinOp.SOFTMAX]: 2,
    };
    for (const op of desc.operators) expect(op.version).toBe(versions[op.opcode]);
    expect(OP_VERSIONS.CONV_2D).toBe(3);
    for (const op of desc.operators) {
      const inQ = desc.tensors[op.inputs[0]].quantization!;
      const outT = desc.tensors[op.outputs[0]];
      expect(outT.type).toBe(TensorType.INT8);
      if (op.opcode === BuiltinOp.CONV_2D || op.opcode === BuiltinOp.DEPTHWISE_CONV_2D || op.opcode === BuiltinOp.FULLY_CONNECTED) {
        const w = desc.tensors[op.inputs[1]], b = desc.tensors[op.inputs[2]];
        expect(w.type).toBe(TensorType.INT8);
        expect(b.type).toBe(TensorType.INT32);
        const wq = w.quantization!;
        if (op.opcode === BuiltinOp.CONV_2D) { expect(wq.quantizedDimension).toBe(0); expect(wq.scale.length).toBe(w.shape[0]); }
        if (op.opcode === BuiltinOp.DEPTHWISE_CONV_2D) { expect(wq.quantizedDimension).toBe(3); expect(wq.scale.length).toBe(w.shape[3]); }
        if (op.opcode === BuiltinOp.FULLY_CONNECTED) expect(wq.scale.length).toBe(1);
        expect(wq.zeroPoint.every((z) => z === 0)).toBe(true);
        const wv = new Int8Array(w.data!.buffer, w.data!.byteOffset, w.data!.byteLength);
        expect(wv.every((v) => v >= -127 && v <= 127)).toBe(true);
        b.quantization!.scale.forEach((s, c) => expect(s).toBe(Math.fround(Math.fround(inQ.scale[0]) * Math.fround(wq.scale[c]))));
        if (op.options!.fusedActivationFunction === 1) expect(outT.quantization!.zeroPoint[0]).toBe(-128);
      }
      if ([BuiltinOp.MAX_POOL_2D, BuiltinOp.AVERAGE_POOL_2D, BuiltinOp.RESHAPE].includes(op.opcode as 17)) {
        expect(outT.quantization).toEqual(inQ); // pools and reshape keep the input's quantization
      }
    }
    const soft = desc.tensors[desc.outputs[0]].quantization!;
    expect(soft.scale[0]).toBe(Math.fround(1 / 256));
    expect(soft.zeroPoint[0]).toBe(-128);
  });

  test("the written .tflite parses and qedge's runtime matches the int8 reference on every tensor", () => {
    const graph = parseModel(bytes);
    expect(graph.operators.length).toBe(qm.desc.operators.length);
    const rt = loadModelSync(bytes);
    const r = rng(3);
    let checkedTensors = 0;
    for (let s = 0; s < 10; s++) {
      const i = Math.floor(r() * heldOut.count);
      const input = quantizeInput(heldOut.x.subarray(i * 128, (i + 1) * 128), qm.input);
      (rt.input(0) as Int8Array).set(input);
      const expected = runInt8Graph(qm.desc, Int8Array.from(input));
      rt.invokeStepwise((opIndex) => {
        const t = qm.desc.operators[opIndex].outputs[0];
        expect(Array.from(rt.tensor(t) as Int8Array), `sample ${i}, op ${opIndex}`).toEqual(Array.from(expected.get(t)!));
        checkedTensors++;
      });
    }
    expect(checkedTensors).toBe(10 * qm.desc.operators.length);
  });

  test("int8 predictions agree with the float model", () => {
    const rt = loadModelSync(bytes);
    let agree = 0;
    for (let i = 0; i < heldOut.count; i++) {
      quantizeInput(heldOut.x.subarray(i * 128, (i + 1) * 128), qm.input, rt.input(0) as Int8Array);
      rt.invoke();
      if (argmax(rt.output(0) as Int8Array) === floatEval.predictions[i]) agree++;
    }
    expect(agree / heldOut.count).toBeGreaterThanOrEqual(0.95);
  });

  test("int8 logits dequantize close to the float logits", () => {
    // Run the graph up to the FC output (before SOFTMAX) and compare in real units: the error of a
    // few int8 layers stays within a handful of output steps.
    const fcOut = qm.desc.operators[qm.desc.operators.length - 2].outputs[0];
    const oq = qm.desc.tensors[fcOut].quantization!;
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      const x = heldOut.x.subarray(i * 128, (i + 1) * 128);
      model.setInput(x, 1);
      const f = model.forward(1);
      const q = runInt8Graph(qm.desc, quantizeInput(x, qm.input) as Int8Array).get(fcOut)!;
      q.forEach((v, j) => { worst = Math.max(worst, Math.abs((v - oq.zeroPoint[0]) * oq.scale[0] - f[j])); });
    }
    expect(worst).toBeLessThan(8 * oq.scale[0]);
  });

  test("bad calibration input gets typed errors", () => {
    expect(() => quantizeModel(model, { ...train, sampleSize: 3 })).toThrow(InvalidArgumentError);
    expect(() => quantizeModel(model, train, { maxSamples: 0 })).toThrow(InvalidArgumentError);
    expect(() => quantizeModel(model, train, { input: { scale: 0, zeroPoint: 0 } })).toThrow(InvalidArgumentError);
  });
});
