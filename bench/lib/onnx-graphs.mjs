// Tiny ONNX graphs for the ONNX Runtime peers, encoded by hand as protobuf.
// Only the few message fields these graphs need (field numbers from onnx.proto, proto2):
//   ModelProto      1 ir_version, 2 producer_name, 7 graph, 8 opset_import
//   OperatorSetId   1 domain, 2 version
//   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
//   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute
//   AttributeProto  1 name, 3 i, 8 ints, 20 type (INT = 2, INTS = 7)
//   TensorProto     1 dims, 2 data_type, 8 name, 9 raw_data
//   ValueInfoProto  1 name, 2 type; TypeProto 1 tensor_type; TypeProto.Tensor 1 elem_type, 2 shape
//   TensorShapeProto 1 dim; Dimension 1 dim_value
// ORT's fast int8 path is uint8 activations x int8 constant weights, so activations here are
// uint8 (an int8 tensor with zero point z is the same real values as uint8 with z + 128).

export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 };

const enc = new TextEncoder();

/** Protobuf writer: varints, length-delimited fields, nothing else. */
class Pb {
  constructor() { this.parts = []; this.length = 0; }
  push(bytes) { this.parts.push(bytes); this.length += bytes.length; }
  varint(v) {
    // Negative values are encoded as 64-bit two's complement, as protobuf int64 requires.
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      out.push(b);
    } while (n !== 0n);
    this.push(Uint8Array.from(out));
  }
  tag(field, wire) { this.varint((field << 3) | wire); }
  int(field, v) { this.tag(field, 0); this.varint(v); }
  bytes(field, b) { this.tag(field, 2); this.varint(b.length); this.push(b); }
  string(field, s) { this.bytes(field, enc.encode(s)); }
  message(field, pb) { this.bytes(field, pb.finish()); }
  finish() {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

function tensorProto(name, type, dims, raw) {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, type);
  t.string(8, name);
  t.bytes(9, raw);
  return t;
}

function valueInfo(name, type, dims) {
  const shape = new Pb();
  for (const d of dims) { const dim = new Pb(); dim.int(1, d); shape.message(1, dim); }
  const tensorType = new Pb();
  tensorType.int(1, type);
  tensorType.message(2, shape);
  const typeProto = new Pb();
  typeProto.message(1, tensorType);
  const vi = new Pb();
  vi.string(1, name);
  vi.message(2, typeProto);
  return vi;
}

function attrInt(name, v) { const a = new Pb(); a.string(1, name); a.int(3, v); a.int(20, 2); return a; }
function attrInts(name, vs) { const a = new Pb(); a.string(1, name); for (const v of vs) a.int(8, v); a.int(20, 7); return a; }

function nodeProto(opType, inputs, outputs, attrs = []) {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, `${opType}_0`);
  n.string(4, opType);
  for (const a of attrs) n.message(5, a);
  return n;
}

function bytesOf(typed) { return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength); }
const f32 = (...v) => bytesOf(Float32Array.from(v));
const u8 = (...v) => Uint8Array.from(v);
const i8 = (...v) => bytesOf(Int8Array.from(v));

/** A one-node model: inputs/outputs are [name, type, dims]; initializers [name, type, dims, raw]. */
function singleNodeModel({ opType, nodeInputs, nodeOutputs, attrs, inputs, outputs, initializers, opset = 13 }) {
  const g = new Pb();
  g.message(1, nodeProto(opType, nodeInputs, nodeOutputs, attrs));
  g.string(2, `qedge_bench_${opType}`);
  for (const [name, type, dims, raw] of initializers) g.message(5, tensorProto(name, type, dims, raw));
  for (const [name, type, dims] of inputs) g.message(11, valueInfo(name, type, dims));
  for (const [name, type, dims] of outputs) g.message(12, valueInfo(name, type, dims));
  const opsetId = new Pb();
  opsetId.string(1, "");
  opsetId.int(2, opset);
  const m = new Pb();
  m.int(1, 8);
  m.string(2, "qedge-bench");
  m.message(7, g);
  m.message(8, opsetId);
  return m.finish();
}

/**
 * y[M,N] (uint8) = requant(a[M,K] (uint8) x b[K,N] (int8 constant)): the same arithmetic as an
 * int8 FULLY_CONNECTED with weights [N,K] (b is their transpose).
 * @param {{M:number,K:number,N:number,weightsNK:Int8Array,aScale:number,aZero:number,wScale:number,yScale:number,yZero:number}} g
 */
export function qlinearMatMulModel(g) {
  const { M, K, N } = g;
  return singleNodeModel({
    opType: "QLinearMatMul",
    nodeInputs: ["a", "a_scale", "a_zero", "b", "b_scale", "b_zero", "y_scale", "y_zero"],
    nodeOutputs: ["y"],
    inputs: [["a", OnnxType.UINT8, [M, K]]],
    outputs: [["y", OnnxType.UINT8, [M, N]]],
    initializers: [
      ["a_scale", OnnxType.FLOAT, [], f32(g.aScale)],
      ["a_zero", OnnxType.UINT8, [], u8(g.aZero + 128)],
      ["b", OnnxType.INT8, [K, N], bytesOf(transpose(g.weightsNK, N, K))],
      ["b_scale", OnnxType.FLOAT, [], f32(g.wScale)],
      ["b_zero", OnnxType.INT8, [], i8(0)],
      ["y_scale", OnnxType.FLOAT, [], f32(g.yScale)],
      ["y_zero", OnnxType.UINT8, [], u8(g.yZero + 128)],
    ],
  });
}

/** y[M,N] (int32) = (a - a_zero) x b: the accumulation alone, no requantization. */
export function matMulIntegerModel(g) {
  const { M, K, N } = g;
  return singleNodeModel({
    opType: "MatMulInteger",
    nodeInputs: ["a", "b", "a_zero", "b_zero"],
    nodeOutputs: ["y"],
    inputs: [["a", OnnxType.UINT8, [M, K]]],
    outputs: [["y", OnnxType.INT32, [M, N]]],
    initializers: [
      ["b", OnnxType.INT8, [K, N], bytesOf(transpose(g.weightsNK, N, K))],
      ["a_zero", OnnxType.UINT8, [], u8(g.aZero + 128)],
      ["b_zero", OnnxType.INT8, [], i8(0)],
    ],
  });
}

/**
 * QLinearConv, NCHW uint8 activations, int8 per-channel weights [O, I/group, kh, kw], int32 bias.
 * `weightsOHWI` is the TFLite layout (OHWI, or 1HWC for depthwise) and is reordered here.
 * @param {{N?:number,H:number,W:number,C:number,O:number,kh:number,kw:number,strideH:number,strideW:number,
 *   pads:[number,number,number,number],group:number,OH:number,OW:number,weightsOHWI:Int8Array,bias:Int32Array,
 *   xScale:number,xZero:number,wScales:number[],yScale:number,yZero:number}} g  pads = [top,left,bottom,right]
 */
export function qlinearConvModel(g) {
  const depthwise = g.group > 1;
  const perGroupIn = g.C / g.group;
  const w = new Int8Array(g.O * perGroupIn * g.kh * g.kw);
  for (let o = 0; o < g.O; o++) {
    for (let i = 0; i < perGroupIn; i++) {
      for (let y = 0; y < g.kh; y++) {
        for (let x = 0; x < g.kw; x++) {
          // TFLite: conv OHWI [o][y][x][i]; depthwise 1HWC [0][y][x][o] (depth_multiplier 1).
          const src = depthwise ? (y * g.kw + x) * g.O + o : ((o * g.kh + y) * g.kw + x) * perGroupIn + i;
          w[((o * perGroupIn + i) * g.kh + y) * g.kw + x] = g.weightsOHWI[src];
        }
      }
    }
  }
  return singleNodeModel({
    opType: "QLinearConv",
    nodeInputs: ["x", "x_scale", "x_zero", "w", "w_scale", "w_zero", "y_scale", "y_zero", "B"],
    nodeOutputs: ["y"],
    attrs: [
      attrInts("kernel_shape", [g.kh, g.kw]),
      attrInts("strides", [g.strideH, g.strideW]),
      attrInts("pads", [g.pads[0], g.pads[1], g.pads[2], g.pads[3]]),
      attrInts("dilations", [1, 1]),
      attrInt("group", g.group),
    ],
    inputs: [["x", OnnxType.UINT8, [1, g.C, g.H, g.W]]],
    outputs: [["y", OnnxType.UINT8, [1, g.O, g.OH, g.OW]]],
    initializers: [
      ["x_scale", OnnxType.FLOAT, [], f32(g.xScale)],
      ["x_zero", OnnxType.UINT8, [], u8(g.xZero + 128)],
      ["w", OnnxType.INT8, [g.O, perGroupIn, g.kh, g.kw], bytesOf(w)],
      ["w_scale", OnnxType.FLOAT, [g.O], f32(...g.wScales)],
      ["w_zero", OnnxType.INT8, [g.O], new Uint8Array(g.O)],
      ["y_scale", OnnxType.FLOAT, [], f32(g.yScale)],
      ["y_zero", OnnxType.UINT8, [], u8(g.yZero + 128)],
      ["B", OnnxType.INT32, [g.O], bytesOf(g.bias)],
    ],
  });
}

function transpose(a, rows, cols) {
  const t = new Int8Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}
