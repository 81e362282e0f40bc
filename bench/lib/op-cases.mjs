// Single-operator cases for the GEMM / convolution comparison: the CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED shapes of the models (with their real weights and quantization), plus synthetic
// int8 GEMMs. Each case yields a one-op .tflite description (for qedge and TFLite-wasm) and the
// equivalent ONNX graphs (for ONNX Runtime).
import { matMulIntegerModel, qlinearConvModel, qlinearMatMulModel } from "./onnx-graphs.mjs";

export const Op = { CONV_2D: 3, DEPTHWISE_CONV_2D: 4, FULLY_CONNECTED: 9 };
export const T = { INT32: 2, INT8: 9 };
const KIND = { [Op.CONV_2D]: "conv", [Op.DEPTHWISE_CONV_2D]: "dwconv", [Op.FULLY_CONNECTED]: "fc" };

const prod = (a) => a.reduce((x, y) => x * y, 1);
const copyI8 = (u8) => new Int8Array(u8.slice().buffer);
const copyI32 = (u8) => new Int32Array(u8.slice().buffer);

function tensorDesc(t, withData) {
  return {
    name: t.name, type: t.type, shape: [...t.shape],
    data: withData ? t.data : null,
    quantization: t.quantization
      ? { scale: [...t.quantization.scale], zeroPoint: [...t.quantization.zeroPoint], quantizedDimension: t.quantization.quantizedDimension }
      : null,
  };
}

/** TFLite SAME padding: the odd pixel goes after. */
function samePads(inSize, outSize, k, stride) {
  const total = Math.max((outSize - 1) * stride + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** One case per distinct (kind, shapes, strides, padding) among the int8 conv / dwconv / fc ops of a graph. */
export function opCasesFromGraph(graph, source) {
  const cases = new Map();
  for (const op of graph.operators) {
    const kind = KIND[op.opcode];
    if (!kind) continue;
    const ins = op.inputs.map((i) => (i < 0 ? null : graph.tensors[i]));
    const out = graph.tensors[op.outputs[0]];
    const [x, w, b] = ins;
    if (!x || !w || !w.data || x.type !== T.INT8 || w.type !== T.INT8 || out.type !== T.INT8) continue;
    const o = op.options;
    const shape = kind === "fc"
      ? `${prod(x.shape) / w.shape[1]}x${w.shape[1]}x${w.shape[0]}`
      : `${x.shape.slice(1).join("x")} k${w.shape[1]}x${w.shape[2]} s${o.strideH} ${o.padding === 1 ? "valid" : "same"} -> ${out.shape.slice(1).join("x")}`;
    const id = `${kind} ${shape}`;
    if (cases.has(id)) { cases.get(id).sources.add(source); continue; }
    const macs = kind === "fc" ? prod(x.shape) * w.shape[0]
      : kind === "conv" ? prod(out.shape) * w.shape[1] * w.shape[2] * w.shape[3]
        : prod(out.shape) * w.shape[1] * w.shape[2];
    const tensors = [tensorDesc(x, false), tensorDesc(w, true)];
    const inputs = [0, 1];
    if (b && b.data) { tensors.push(tensorDesc(b, true)); inputs.push(2); } else inputs.push(-1);
    tensors.push(tensorDesc(out, false));
    const outIdx = tensors.length - 1;
    const desc = {
      description: `qedge bench: ${id} (from ${source})`,
      tensors,
      operators: [{ opcode: op.opcode, version: op.version, inputs, outputs: [outIdx], options: { ...o } }],
      inputs: [0],
      outputs: [outIdx],
    };
    cases.set(id, { id, kind, shape, macs, sources: new Set([source]), desc, onnx: () => onnxFor(kind, x, w, b, out, o) });
  }
  return [...cases.values()];
}

/** ONNX graphs equivalent to the op: [{ name, bytes, inputName, inputDims }]. */
function onnxFor(kind, x, w, b, out, o) {
  const q = (t) => ({ scale: t.quantization.scale, zero: t.quantization.zeroPoint[0] ?? 0 });
  const xq = q(x), wq = q(w), yq = q(out);
  if (kind === "fc") {
    const N = w.shape[0], K = w.shape[1], M = prod(x.shape) / K;
    if (wq.scale.length !== 1) return [];
    const g = { M, K, N, weightsNK: copyI8(w.data), aScale: xq.scale[0], aZero: xq.zero, wScale: wq.scale[0], yScale: yq.scale[0], yZero: yq.zero };
    return [
      { name: "QLinearMatMul", bytes: qlinearMatMulModel(g), inputName: "a", inputDims: [M, K] },
      { name: "MatMulInteger", bytes: matMulIntegerModel(g), inputName: "a", inputDims: [M, K] },
    ];
  }
  const [, H, W, C] = x.shape;
  const [, OH, OW, O] = out.shape;
  const kh = w.shape[1], kw = w.shape[2];
  if (kind === "dwconv" && O !== C) return []; // depth_multiplier > 1 has no one-node ONNX twin here
  const [pt, pb] = o.padding === 1 ? [0, 0] : samePads(H, OH, kh, o.strideH);
  const [pl, pr] = o.padding === 1 ? [0, 0] : samePads(W, OW, kw, o.strideW);
  const scales = wq.scale.length === O ? wq.scale : new Array(O).fill(wq.scale[0]);
  const g = {
    H, W, C, O, kh, kw, strideH: o.strideH, strideW: o.strideW, pads: [pt, pl, pb, pr],
    group: kind === "dwconv" ? C : 1, OH, OW,
    weightsOHWI: copyI8(w.data), bias: b?.data ? copyI32(b.data) : new Int32Array(O),
    xScale: xq.scale[0], xZero: xq.zero, wScales: scales, yScale: yq.scale[0], yZero: yq.zero,
  };
  return [{ name: "QLinearConv", bytes: qlinearConvModel(g), inputName: "x", inputDims: [1, C, H, W] }];
}

/**
 * A synthetic int8 GEMM as FULLY_CONNECTED: input [M,K] x weights [N,K] + bias -> [M,N],
 * deterministic weights from `bytes(n, seed)`, scales that keep outputs in range.
 */
export function gemmCase(M, K, N, bytes) {
  const weights = new Int8Array(bytes(N * K, 0x5eed).buffer).map((v) => (v === -128 ? -127 : v));
  const bias = new Int32Array(N).map((_, i) => (i * 37) % 2001 - 1000);
  const xs = 0.05, ws = 0.01, ys = 0.05 * 0.01 * Math.sqrt(K) * 24;
  const x = { name: "x", type: T.INT8, shape: [M, K], quantization: { scale: [xs], zeroPoint: [-3] } };
  const w = { name: "w", type: T.INT8, shape: [N, K], data: new Uint8Array(weights.buffer), quantization: { scale: [ws], zeroPoint: [0] } };
  const b = { name: "b", type: T.INT32, shape: [N], data: new Uint8Array(bias.buffer), quantization: { scale: [xs * ws], zeroPoint: [0] } };
  const y = { name: "y", type: T.INT8, shape: [M, N], quantization: { scale: [ys], zeroPoint: [2] } };
  const id = `gemm ${M}x${K}x${N}`;
  const desc = {
    description: `qedge bench: ${id}`,
    tensors: [x, w, b, y],
    operators: [{ opcode: Op.FULLY_CONNECTED, version: 4, inputs: [0, 1, 2], outputs: [3], options: { fusedActivationFunction: 0, keepNumDims: false } }],
    inputs: [0],
    outputs: [3],
  };
  const asTensor = (t) => ({ ...t, data: t.data ?? null });
  return {
    id, kind: "gemm", shape: `${M}x${K}x${N}`, macs: M * K * N, sources: new Set(["synthetic"]), desc,
    onnx: () => onnxFor("fc", asTensor(x), asTensor(w), asTensor(b), asTensor(y), {}),
  };
}
