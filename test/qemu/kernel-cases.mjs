// Fixed single-operator graphs for the emulated kernel checks. Each case is built in memory
// (the ModelGraph form the loader produces, no .tflite file) from a seeded PRNG, so the host and
// every emulated architecture construct identical graphs and inputs. Shapes are chosen to hit
// SIMD tails (sizes not multiples of 4/8/16), strides, padding, dilation, per-channel scales,
// broadcasting and fused activations. Expected bytes come from running the same cases on the host.

const TT = { FLOAT32: 0, INT32: 2, INT8: 9 };
const ELEM = { 0: 4, 2: 4, 9: 1 };
const ACT = { NONE: 0, RELU: 1, RELU6: 3 };
const PAD = { SAME: 0, VALID: 1 };
const OP = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9,
  LOGISTIC: 14, MAX_POOL_2D: 17, MUL: 18, RESHAPE: 22, SOFTMAX: 25, TANH: 28, QUANTIZE: 114,
};

/** mulberry32: small, fast, identical on every engine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function seedOf(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}
const randInt = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
const i8 = (r, n, lo = -128, hi = 127) => Int8Array.from({ length: n }, () => randInt(r, lo, hi));
const i32 = (r, n, lo, hi) => Int32Array.from({ length: n }, () => randInt(r, lo, hi));
const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const prod = (s) => s.reduce((a, b) => a * b, 1);

class GraphBuilder {
  constructor(name) { this.name = name; this.tensors = []; }
  tensor(type, shape, { data = null, scale, zp = 0, qdim = 0 } = {}) {
    const index = this.tensors.length;
    this.tensors.push({
      index, name: `t${index}`, type, shape, data: data ? bytes(data) : null,
      quantization: scale === undefined ? null
        : { scale: [].concat(scale), zeroPoint: [].concat(zp), quantizedDimension: qdim },
      isVariable: false, byteLength: prod(shape) * ELEM[type],
    });
    return index;
  }
  build(opcode, opName, version, inputs, outputs, options) {
    return {
      version: 3, description: `qemu kernel check ${this.name}`, tensors: this.tensors,
      operators: [{ index: 0, opcode, opName, version, inputs, outputs, intermediates: [], options }],
      inputs: inputs.filter((t) => t >= 0 && !this.tensors[t].data), outputs, fileBytes: 0,
    };
  }
}

const outSize = (n, k, s, d, pad) => (pad === PAD.SAME ? Math.ceil(n / s) : Math.floor((n - ((k - 1) * d + 1)) / s) + 1);
/** Output scale that keeps a K-term int8 dot product mostly inside int8 (not all saturated). */
const accScale = (inScale, wScale, k) => (inScale * wScale * 5500 * Math.sqrt(k)) / 48;

function fullyConnected(name, batches, inDepth, outDepth, act, perChannel) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const inScale = 0.05, wScales = Array.from({ length: perChannel ? outDepth : 1 }, () => 0.002 + r() * 0.02);
  const x = g.tensor(TT.INT8, [batches, inDepth], { scale: inScale, zp: randInt(r, -20, 20) });
  const w = g.tensor(TT.INT8, [outDepth, inDepth], { data: i8(r, outDepth * inDepth, -127, 127), scale: wScales, zp: wScales.map(() => 0) });
  const b = g.tensor(TT.INT32, [outDepth], { data: i32(r, outDepth, -20000, 20000), scale: wScales.map((s) => s * inScale), zp: wScales.map(() => 0) });
  const y = g.tensor(TT.INT8, [batches, outDepth], { scale: accScale(inScale, wScales[0], inDepth), zp: randInt(r, -10, 10) });
  return { graph: g.build(OP.FULLY_CONNECTED, "FULLY_CONNECTED", 4, [x, w, b], [y],
    { fusedActivationFunction: act, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false }), r };
}

function conv2d(name, [h, wd, c], outC, k, stride, pad, dil, act) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const inScale = 0.04, wScales = Array.from({ length: outC }, () => 0.003 + r() * 0.02);
  const oh = outSize(h, k, stride, dil, pad), ow = outSize(wd, k, stride, dil, pad);
  const x = g.tensor(TT.INT8, [1, h, wd, c], { scale: inScale, zp: randInt(r, -30, 30) });
  const w = g.tensor(TT.INT8, [outC, k, k, c], { data: i8(r, outC * k * k * c, -127, 127), scale: wScales, zp: wScales.map(() => 0) });
  const b = g.tensor(TT.INT32, [outC], { data: i32(r, outC, -30000, 30000), scale: wScales.map((s) => s * inScale), zp: wScales.map(() => 0) });
  const y = g.tensor(TT.INT8, [1, oh, ow, outC], { scale: accScale(inScale, 0.012, k * k * c), zp: randInt(r, -10, 10) });
  return { graph: g.build(OP.CONV_2D, "CONV_2D", 3, [x, w, b], [y],
    { padding: pad, strideW: stride, strideH: stride, fusedActivationFunction: act, dilationWFactor: dil, dilationHFactor: dil }), r };
}

function depthwise(name, [h, wd, c], mult, k, stride, pad, dil, act) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const outC = c * mult, inScale = 0.04, wScales = Array.from({ length: outC }, () => 0.003 + r() * 0.02);
  const oh = outSize(h, k, stride, dil, pad), ow = outSize(wd, k, stride, dil, pad);
  const x = g.tensor(TT.INT8, [1, h, wd, c], { scale: inScale, zp: randInt(r, -30, 30) });
  const w = g.tensor(TT.INT8, [1, k, k, outC], { data: i8(r, k * k * outC, -127, 127), scale: wScales, zp: wScales.map(() => 0), qdim: 3 });
  const b = g.tensor(TT.INT32, [outC], { data: i32(r, outC, -30000, 30000), scale: wScales.map((s) => s * inScale), zp: wScales.map(() => 0) });
  const y = g.tensor(TT.INT8, [1, oh, ow, outC], { scale: accScale(inScale, 0.012, k * k), zp: randInt(r, -10, 10) });
  return { graph: g.build(OP.DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", 3, [x, w, b], [y],
    { padding: pad, strideW: stride, strideH: stride, depthMultiplier: mult, fusedActivationFunction: act, dilationWFactor: dil, dilationHFactor: dil }), r };
}

function pool(name, max, [h, wd, c], f, stride, pad, act) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const q = { scale: 0.05, zp: randInt(r, -20, 20) };
  const x = g.tensor(TT.INT8, [1, h, wd, c], q);
  const y = g.tensor(TT.INT8, [1, outSize(h, f, stride, 1, pad), outSize(wd, f, stride, 1, pad), c], q);
  return { graph: g.build(max ? OP.MAX_POOL_2D : OP.AVERAGE_POOL_2D, max ? "MAX_POOL_2D" : "AVERAGE_POOL_2D", 2, [x], [y],
    { padding: pad, strideW: stride, strideH: stride, filterWidth: f, filterHeight: f, fusedActivationFunction: act }), r };
}

function elementwise(name, mul, shapeA, shapeB, act) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const out = shapeA.map((d, i) => Math.max(d, shapeB[i]));
  const a = g.tensor(TT.INT8, shapeA, { scale: 0.02 + r() * 0.05, zp: randInt(r, -40, 40) });
  const b = g.tensor(TT.INT8, shapeB, { scale: 0.02 + r() * 0.05, zp: randInt(r, -40, 40) });
  const y = g.tensor(TT.INT8, out, { scale: mul ? 0.05 + r() * 0.1 : 0.04 + r() * 0.05, zp: randInt(r, -20, 20) });
  return { graph: mul
    ? g.build(OP.MUL, "MUL", 2, [a, b], [y], { fusedActivationFunction: act })
    : g.build(OP.ADD, "ADD", 2, [a, b], [y], { fusedActivationFunction: act, potScaleInt16: true }), r };
}

function softmax(name, shape, beta) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const x = g.tensor(TT.INT8, shape, { scale: 0.05 + r() * 0.1, zp: randInt(r, -20, 20) });
  const y = g.tensor(TT.INT8, shape, { scale: 1 / 256, zp: -128 });
  return { graph: g.build(OP.SOFTMAX, "SOFTMAX", 2, [x], [y], { beta }), r };
}

function lut(name, tanh, n) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const x = g.tensor(TT.INT8, [1, n], { scale: 0.03 + r() * 0.05, zp: randInt(r, -20, 20) });
  const y = g.tensor(TT.INT8, [1, n], tanh ? { scale: 1 / 128, zp: 0 } : { scale: 1 / 256, zp: -128 });
  return { graph: g.build(tanh ? OP.TANH : OP.LOGISTIC, tanh ? "TANH" : "LOGISTIC", 2, [x], [y], {}), r };
}

function quantizeF32(name, n) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const x = g.tensor(TT.FLOAT32, [1, n]);
  const y = g.tensor(TT.INT8, [1, n], { scale: 0.07, zp: -3 });
  return { graph: g.build(OP.QUANTIZE, "QUANTIZE", 2, [x], [y], {}), r,
    // Floats on exact and half-way points too (rounding rules differ there).
    fill: (view) => { for (let i = 0; i < view.length; i++) view[i] = i % 5 === 0 ? (randInt(r, -200, 200) + 0.5) * 0.07 : (r() - 0.5) * 20; } };
}

function requantize(name, n) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const x = g.tensor(TT.INT8, [1, n], { scale: 0.05, zp: 7 });
  const y = g.tensor(TT.INT8, [1, n], { scale: 0.08, zp: -11 });
  return { graph: g.build(OP.QUANTIZE, "QUANTIZE", 2, [x], [y], {}), r };
}

function dequantize(name, n) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const x = g.tensor(TT.INT8, [1, n], { scale: 0.0371, zp: -5 });
  const y = g.tensor(TT.FLOAT32, [1, n]);
  return { graph: g.build(OP.DEQUANTIZE, "DEQUANTIZE", 2, [x], [y], {}), r };
}

function reshape(name) {
  const r = rng(seedOf(name)), g = new GraphBuilder(name);
  const q = { scale: 0.1, zp: 0 };
  const x = g.tensor(TT.INT8, [1, 4, 6], q);
  const y = g.tensor(TT.INT8, [1, 24], q);
  return { graph: g.build(OP.RESHAPE, "RESHAPE", 1, [x], [y], { newShape: [1, 24] }), r };
}

/** Every case: { name, make() -> { graph, r, fill? } }. Names are stable (they seed the PRNG). */
export const KERNEL_CASES = [
  ["fc 1x7->3", () => fullyConnected("fc 1x7->3", 1, 7, 3, ACT.NONE, false)],
  ["fc 1x16->12 relu", () => fullyConnected("fc 1x16->12 relu", 1, 16, 12, ACT.RELU, false)],
  ["fc 2x33->10 per-channel", () => fullyConnected("fc 2x33->10 per-channel", 2, 33, 10, ACT.NONE, true)],
  ["fc 1x640->128", () => fullyConnected("fc 1x640->128", 1, 640, 128, ACT.NONE, false)],
  ["fc 4x64->17 relu6 per-channel", () => fullyConnected("fc 4x64->17 relu6 per-channel", 4, 64, 17, ACT.RELU6, true)],
  // Large enough for the Strassen layout (assembly/kernels/fc_strassen.ts), qedge's default there.
  ["fc 16x256->64 relu per-channel strassen", () => fullyConnected("fc 16x256->64 relu per-channel strassen", 16, 256, 64, ACT.RELU, true)],
  ["conv 9x9x3->8 k3 s1 same relu", () => conv2d("conv 9x9x3->8 k3 s1 same relu", [9, 9, 3], 8, 3, 1, PAD.SAME, 1, ACT.RELU)],
  ["conv 10x7x5->4 k3 s2 valid", () => conv2d("conv 10x7x5->4 k3 s2 valid", [10, 7, 5], 4, 3, 2, PAD.VALID, 1, ACT.NONE)],
  ["conv 8x8x16->16 k1", () => conv2d("conv 8x8x16->16 k1", [8, 8, 16], 16, 1, 1, PAD.VALID, 1, ACT.NONE)],
  ["conv 12x12x4->6 k3 dil2 same", () => conv2d("conv 12x12x4->6 k3 dil2 same", [12, 12, 4], 6, 3, 1, PAD.SAME, 2, ACT.NONE)],
  ["conv 5x5x1->3 k5 same relu6", () => conv2d("conv 5x5x1->3 k5 same relu6", [5, 5, 1], 3, 5, 1, PAD.SAME, 1, ACT.RELU6)],
  ["dw 9x9x8 k3 s1 same relu", () => depthwise("dw 9x9x8 k3 s1 same relu", [9, 9, 8], 1, 3, 1, PAD.SAME, 1, ACT.RELU)],
  ["dw 10x10x6 k3 s2 valid", () => depthwise("dw 10x10x6 k3 s2 valid", [10, 10, 6], 1, 3, 2, PAD.VALID, 1, ACT.NONE)],
  ["dw 7x7x4 x2 k3 same", () => depthwise("dw 7x7x4 x2 k3 same", [7, 7, 4], 2, 3, 1, PAD.SAME, 1, ACT.NONE)],
  ["dw 12x12x20 k3 s2 same relu6", () => depthwise("dw 12x12x20 k3 s2 same relu6", [12, 12, 20], 1, 3, 2, PAD.SAME, 1, ACT.RELU6)],
  ["dw 11x11x5 k3 dil2 valid", () => depthwise("dw 11x11x5 k3 dil2 valid", [11, 11, 5], 1, 3, 1, PAD.VALID, 2, ACT.NONE)],
  ["avgpool 9x9x5 f3 s2 valid", () => pool("avgpool 9x9x5 f3 s2 valid", false, [9, 9, 5], 3, 2, PAD.VALID, ACT.NONE)],
  ["avgpool 6x6x19 global", () => pool("avgpool 6x6x19 global", false, [6, 6, 19], 6, 1, PAD.VALID, ACT.NONE)],
  ["avgpool 7x7x8 f2 s2 same", () => pool("avgpool 7x7x8 f2 s2 same", false, [7, 7, 8], 2, 2, PAD.SAME, ACT.RELU)],
  ["maxpool 8x8x16 f2 s2 same", () => pool("maxpool 8x8x16 f2 s2 same", true, [8, 8, 16], 2, 2, PAD.SAME, ACT.NONE)],
  ["maxpool 9x9x3 f3 s2 valid relu", () => pool("maxpool 9x9x3 f3 s2 valid relu", true, [9, 9, 3], 3, 2, PAD.VALID, ACT.RELU)],
  ["add 1x5x5x7 relu", () => elementwise("add 1x5x5x7 relu", false, [1, 5, 5, 7], [1, 5, 5, 7], ACT.RELU)],
  ["add broadcast 1x4x4x8 + 1x1x1x8", () => elementwise("add broadcast 1x4x4x8 + 1x1x1x8", false, [1, 4, 4, 8], [1, 1, 1, 8], ACT.NONE)],
  ["mul 1x3x3x11", () => elementwise("mul 1x3x3x11", true, [1, 3, 3, 11], [1, 3, 3, 11], ACT.NONE)],
  ["mul broadcast 1x1x6x1 * 1x5x1x3", () => elementwise("mul broadcast 1x1x6x1 * 1x5x1x3", true, [1, 1, 6, 1], [1, 5, 1, 3], ACT.NONE)],
  ["softmax 1x12", () => softmax("softmax 1x12", [1, 12], 1)],
  ["softmax 3x10 beta0.5", () => softmax("softmax 3x10 beta0.5", [3, 10], 0.5)],
  ["softmax 1x257", () => softmax("softmax 1x257", [1, 257], 1)],
  ["logistic 1x300", () => lut("logistic 1x300", false, 300)],
  ["tanh 1x300", () => lut("tanh 1x300", true, 300)],
  ["quantize f32->i8 1x53", () => quantizeF32("quantize f32->i8 1x53", 53)],
  ["requantize i8->i8 1x77", () => requantize("requantize i8->i8 1x77", 77)],
  ["dequantize i8->f32 1x61", () => dequantize("dequantize i8->f32 1x61", 61)],
  ["reshape 1x4x6->1x24", () => reshape("reshape 1x4x6->1x24")],
].map(([name, make]) => ({ name, make }));

/**
 * Run one case on one kernel build. Returns { status: "ok", output: <base64 of every output> },
 * { status: "unsupported", detail } when the runtime does not run this op yet, or
 * { status: "error", detail } when it threw anything else (a trap, a crash).
 */
export function runKernelCase(c, build, createModel, UnsupportedModelError) {
  const { graph, r, fill } = c.make();
  let model;
  try {
    model = createModel(graph, { kernels: build });
  } catch (e) {
    if (e instanceof UnsupportedModelError) return { status: "unsupported", detail: e.message };
    return { status: "error", detail: `load: ${e?.message ?? e}` };
  }
  try {
    for (let i = 0; i < graph.inputs.length; i++) {
      const v = model.input(i);
      if (fill) fill(v);
      else if (v instanceof Int8Array) v.set(i8(r, v.length));
      else throw new Error(`no filler for input ${i} (${v.constructor.name})`);
    }
    model.invoke();
    const parts = graph.outputs.map((_, i) => {
      const v = model.output(i);
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
    });
    return { status: "ok", output: parts.join(",") };
  } catch (e) {
    return { status: "error", detail: `invoke: ${e?.message ?? e}` };
  }
}
