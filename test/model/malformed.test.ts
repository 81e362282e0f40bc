// parseModel on malformed and hostile files: every failure must be a typed QedgeError naming the
// field, never a TypeError/RangeError, a hang or a huge allocation.
import { describe, expect, it } from "vitest";
import { parseModel } from "../../host/model/reader.js";
import { FbReader } from "../../host/model/fbreader.js";
import { ModelFormatError, QedgeError, UnsupportedModelError } from "../../host/errors.js";
import { BuiltinOp, TensorType } from "../../host/model/types.js";
import { GraphBuilder, prng, rawModel, tinyConvGraph, tinyFcGraph } from "../helpers/tflite-builder.js";
import { SHARED, NO_SHARED, sharedFile } from "../helpers/shared.js";

/** Parse and return the error (or null on success); fails the test on a non-Qedge exception. */
function outcome(bytes: Uint8Array): QedgeError | null {
  try {
    parseModel(bytes);
    return null;
  } catch (e) {
    if (!(e instanceof QedgeError)) throw new Error(`untyped failure: ${(e as Error)?.stack ?? e}`);
    return e;
  }
}

function expectFormatError(bytes: Uint8Array, message: string | RegExp): void {
  const e = outcome(bytes);
  expect(e).toBeInstanceOf(ModelFormatError);
  if (typeof message === "string") expect(e!.message).toBe(message);
  else expect(e!.message).toMatch(message);
}

function expectUnsupported(bytes: Uint8Array, message: RegExp): void {
  const e = outcome(bytes);
  expect(e).toBeInstanceOf(UnsupportedModelError);
  expect(e!.message).toMatch(message);
}

describe("file-level checks", () => {
  it("too short / wrong identifier", () => {
    expectFormatError(new Uint8Array(0), "file: 0 bytes is too short for a .tflite model (at least 8)");
    expectFormatError(new Uint8Array(7), /too short/);
    const good = tinyFcGraph().build();
    const bad = good.slice();
    bad.set([0x54, 0x46, 0x4c, 0x32], 4); // "TFL2"
    expectFormatError(bad, 'file: file identifier is "TFL2", expected "TFL3" (not a .tflite model)');
    expectFormatError(rawModel({ noIdentifier: true }), /file identifier/);
    expectFormatError(new TextEncoder().encode("GGUF\u0003\u0000\u0000\u0000hello"), /file identifier/);
  });

  it("schema version other than 3, several subgraphs, custom ops, external buffers are unsupported", () => {
    expect(() => parseModel(rawModel())).not.toThrow();
    expectUnsupported(rawModel({ version: 2 }), /^model\.version: schema version 2/);
    expectUnsupported(rawModel({ subgraphs: 2 }), /^subgraphs: the model has 2 subgraphs/);
    expectFormatError(rawModel({ subgraphs: 0 }), /^subgraphs: the model has no subgraph/);
    expectUnsupported(rawModel({ customCode: "TFLite_Detection_PostProcess" }),
      /^subgraphs\[0\]\.operators\[0\]: custom operator "TFLite_Detection_PostProcess" is not supported/);
    expectUnsupported(rawModel({ externalBuffer: true }), /^buffers\[1\]: data stored outside the flatbuffer/);
  });

  it("root, vtable and vector offsets outside the file", () => {
    const good = tinyFcGraph().build();
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    let b = good.slice();
    dv(b).setUint32(0, 0xfffffff0, true);
    expectFormatError(b, /^model: table at byte 4294967280 .* lies outside the \d+-byte file/);
    b = good.slice();
    const root = dv(good).getUint32(0, true);
    dv(b).setInt32(root, -0x7ffffff0, true);
    expectFormatError(b, /^model: vtable at byte/);
    // A vtable claiming a field beyond the table's inline size.
    b = good.slice();
    const vt = root - dv(good).getInt32(root, true);
    dv(b).setUint16(vt + 4, 0xfff0, true); // slot 0 (version) at offset 65520
    expectFormatError(b, /^model: field in slot 0 at offset 65520 lies outside the table/);
    // A vector whose length runs past the end: the shape of tensor 0.
    const r = new FbReader(good);
    const sg = r.tables(r.root("m"), 2, "s")[0];
    const t0 = r.tables(sg, 0, "t")[0];
    const shape = r.vector(t0, 0, 4, "shape")!;
    b = good.slice();
    dv(b).setUint32(shape.start - 4, 0x7fffffff, true);
    expectFormatError(b, /^subgraphs\[0\]\.tensors\[0\]\.shape: vector of 2147483647 elements \(4 bytes each\) runs past the end/);
  });
});

describe("graph-level checks (builder-made)", () => {
  it("operator input tensor index out of range names the field", () => {
    const g = tinyFcGraph();
    for (let i = 0; i < 30; i++) g.act(`pad${i}`, [1]); // 35 tensors, as in the brief's example
    g.operators[0].inputs[1] = 97;
    expectFormatError(g.build(false), "subgraphs[0].operators[0].inputs[1]: tensor index 97 out of range (35 tensors)");
  });

  it("-1 is allowed for operator inputs only", () => {
    const g = tinyFcGraph();
    g.operators[0].inputs[2] = -1; // FC without bias
    expect(outcome(g.build(false))).toBeNull();
    const g2 = tinyFcGraph();
    g2.operators[1].outputs = [-1];
    expectFormatError(g2.build(false), "subgraphs[0].operators[1].outputs[0]: tensor index -1 out of range (5 tensors)");
    const g3 = tinyFcGraph();
    g3.inputs = [-1];
    expectFormatError(g3.build(false), "subgraphs[0].inputs[0]: tensor index -1 out of range (5 tensors)");
    const g4 = tinyFcGraph();
    g4.outputs = [5];
    expectFormatError(g4.build(false), "subgraphs[0].outputs[0]: tensor index 5 out of range (5 tensors)");
    const g5 = tinyFcGraph();
    g5.operators[0].intermediates = [7];
    expectFormatError(g5.build(false), /^subgraphs\[0\]\.operators\[0\]\.intermediates\[0\]: tensor index 7 out of range/);
  });

  it("opcode index out of range", () => {
    // Patch the FC operator's opcode_index through the checked reader's view of the file.
    const bytes = tinyFcGraph().build();
    const r = new FbReader(bytes);
    const sg = r.tables(r.root("m"), 2, "s")[0];
    const op0 = r.tables(sg, 3, "o")[1]; // SOFTMAX uses opcode 1; write 9 into its slot
    const p = r.field(op0, 0, 4);
    expect(p).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint32(p, 9, true);
    expectFormatError(bytes, "subgraphs[0].operators[1].opcode_index: opcode index 9 out of range (2 operator codes)");
  });

  it("buffer data length must match shape * element size", () => {
    const g = tinyFcGraph();
    g.tensors[1].data = new Uint8Array(11);
    expectFormatError(g.build(false), "subgraphs[0].tensors[1].buffer: buffer 1 holds 11 bytes but shape [3,4] of INT8 needs 12");
    const g2 = tinyFcGraph();
    g2.tensors[2].data = new Uint8Array(3); // 3 int32 need 12 bytes
    expectFormatError(g2.build(false), /tensors\[2\]\.buffer: buffer 2 holds 3 bytes but shape \[3\] of INT32 needs 12/);
    for (const [type, size] of [[TensorType.INT16, 2], [TensorType.FLOAT32, 4], [TensorType.INT64, 8], [TensorType.BOOL, 1], [TensorType.UINT8, 1]]) {
      const g3 = new GraphBuilder();
      const c = g3.tensor({ name: "c", type, shape: [2, 3], data: new Uint8Array(6 * size) });
      const o = g3.act("o", [2, 3]);
      g3.op(BuiltinOp.RELU, [c], [o]);
      g3.outputs = [o];
      expect(outcome(g3.build(false))).toBeNull();
      g3.tensors[0].data = new Uint8Array(6 * size + 1);
      expect(outcome(g3.build(false))).toBeInstanceOf(ModelFormatError);
    }
  });

  it("negative, dynamic, huge and overflowing shapes", () => {
    const shaped = (shape: number[]) => { const g = tinyFcGraph(); g.tensors[3].shape = shape; return g.build(false); };
    expectFormatError(shaped([1, -3]), "subgraphs[0].tensors[3].shape[1]: negative dimension -3");
    expectUnsupported(shaped([-1, 3]), /^subgraphs\[0\]\.tensors\[3\]\.shape\[0\]: dynamic dimension/);
    expectFormatError(shaped([65536, 65536]), /tensors\[3\]\.shape: shape \[65536,65536\] of INT8 exceeds 2147483648 bytes/);
    expectFormatError(shaped([2147483647, 2147483647, 2147483647, 0]), /exceeds 2147483648 bytes/);
    expectUnsupported(shaped([1, 1, 1, 1, 1, 1, 1, 1, 1]), /rank 9 exceeds/);
    // 2^31 bytes exactly is the limit; 2^29 INT32 elements = 2^31 bytes is accepted (no data).
    const g = tinyFcGraph();
    g.tensors[3] = { ...g.tensors[3], type: TensorType.INT32, shape: [2 ** 29] };
    expect(outcome(g.build(false))).toBeNull();
  });

  it("quantization parameter consistency", () => {
    const q = (quant: object, index = 0, shape?: number[]) => {
      const g = tinyConvGraph();
      Object.assign(g.tensors[index].quantization!, quant);
      if (shape) g.tensors[index].shape = shape;
      return g.build(false);
    };
    expect(outcome(q({}))).toBeNull();
    expectFormatError(q({ zeroPoint: [0, 0] }), "subgraphs[0].tensors[0].quantization.zero_point: 2 zero points for 4 scales (need 4 or 1)");
    expectFormatError(q({ zeroPoint: [] }), /0 zero points for 4 scales/);
    expectFormatError(q({ scale: [0.1, 0.2, 0.3], zeroPoint: [0] }), /^subgraphs\[0\]\.tensors\[0\]\.quantization\.scale: 3 per-channel scales but dimension 0 of shape \[4,3,3,2\] has 4 channels/);
    expectFormatError(q({ quantizedDimension: 7 }), /quantized_dimension 7 out of range for shape \[4,3,3,2\]/);
    expectFormatError(q({ quantizedDimension: -1 }), /negative quantized_dimension/);
    expectFormatError(q({ scale: [0.1, NaN, 0.1, 0.1] }), /scale\[1\]: invalid scale NaN/);
    expectFormatError(q({ scale: [0.1, -1, 0.1, 0.1] }), /scale\[1\]: invalid scale -1/);
    expectFormatError(q({ zeroPoint: [2 ** 31, 0, 0, 0] }), /zero_point\[0\]: zero point 2147483648 out of int32 range/);
    // Rank-1 bias with the weights' quantized_dimension (3) is accepted (person_detect) ...
    expect(outcome(q({ quantizedDimension: 3 }, 4))).toBeNull();
    // ... but not when its length disagrees with the scale count.
    expectFormatError(q({ quantizedDimension: 3 }, 4, [2, 2]), /quantized_dimension 3 out of range for shape \[2,2\]/);
  });

  it("a tensor used before it is produced", () => {
    const g = tinyFcGraph();
    g.operators.reverse(); // SOFTMAX now reads the logits before FC writes them
    expectFormatError(g.build(false),
      'subgraphs[0].operators[0].inputs[0]: tensor 3 ("logits") is used before it is produced (not a graph input, constant or variable, and no earlier operator writes it)');
    const g2 = tinyFcGraph();
    g2.inputs = [];
    expectFormatError(g2.build(false), /operators\[0\]\.inputs\[0\]: tensor 0 \("input"\) is used before it is produced/);
  });

  it("a tensor produced twice, written when constant or a graph input, or never produced", () => {
    const g = tinyFcGraph();
    g.operators[1].outputs = [3];
    g.operators[1].inputs = [0];
    expectFormatError(g.build(false), 'subgraphs[0].operators[1].outputs[0]: tensor 3 ("logits") is produced twice (also by operators[0])');
    const g2 = tinyFcGraph();
    g2.operators[1].outputs = [1];
    expectFormatError(g2.build(false), /outputs\[0\]: tensor 1 \("weights"\) is constant and cannot be an operator output/);
    const g3 = tinyFcGraph();
    g3.operators[1].outputs = [0];
    expectFormatError(g3.build(false), /outputs\[0\]: tensor 0 \("input"\) is a graph input/);
    const g4 = tinyFcGraph();
    g4.operators.pop();
    expectFormatError(g4.build(false), 'subgraphs[0].outputs[0]: tensor 4 ("probs") is never produced');
    const g5 = tinyFcGraph();
    g5.inputs = [0, 0];
    expectFormatError(g5.build(false), "subgraphs[0].inputs[1]: tensor 0 is listed twice");
  });

  it("variable tensors count as available; an op may update one once", () => {
    const g = new GraphBuilder();
    const x = g.act("x", [1, 4]);
    const state = g.tensor({ name: "state", type: TensorType.INT8, shape: [1, 4], isVariable: true, quantization: { scale: [0.05], zeroPoint: [0] } });
    const y = g.act("y", [1, 4]);
    g.op(BuiltinOp.ADD, [x, state], [y], { fusedActivationFunction: 0 });
    g.inputs = [x];
    g.outputs = [y];
    const parsed = parseModel(g.build());
    expect(parsed.tensors[1].isVariable).toBe(true);
    expect(parsed.tensors[1].data).toBeNull();
  });

  it("options union tag must match the op; absent tables give schema defaults", () => {
    const g = tinyFcGraph();
    g.operators[0].options = {};
    const parsed = parseModel(g.build());
    expect(parsed.operators[0].options).toEqual({ fusedActivationFunction: 0, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 });
    // Change the SOFTMAX op's union tag to Conv2DOptions (1).
    const bytes = tinyFcGraph().build();
    const r = new FbReader(bytes);
    const sg = r.tables(r.root("m"), 2, "s")[0];
    const sm = r.tables(sg, 3, "o")[1];
    const p = r.field(sm, 3, 1);
    expect(bytes[p]).toBe(9);
    bytes[p] = 1;
    expectFormatError(bytes, "subgraphs[0].operators[1].builtin_options_type: options type 1 does not belong to SOFTMAX (expected 9, SoftmaxOptions)");
    const g2 = tinyFcGraph();
    g2.operators[0].options = { fusedActivationFunction: 9 };
    expectFormatError(g2.build(false), /operators\[0\]\.builtin_options\.fusedActivationFunction: value 9 is not a valid enum value/);
  });

  it("unknown tensor types and types without a fixed element size", () => {
    const g = tinyFcGraph();
    g.tensors[3].type = 42;
    expectFormatError(g.build(false), "subgraphs[0].tensors[3].type: unknown tensor type 42");
    const g2 = tinyFcGraph();
    g2.tensors[3].type = TensorType.STRING;
    expectUnsupported(g2.build(false), /tensors\[3\]\.type: tensor type STRING is not supported/);
  });
});

/** Byte sources for the fuzz-style tests: builder models always, small third-party ones if present. */
function corpus(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [["tinyFc", tinyFcGraph().build()], ["tinyConv", tinyConvGraph().build()]];
  if (SHARED) {
    out.push(["hello_world", sharedFile("models", "extra", "hello_world_int8.tflite")]);
    out.push(["network_tester", sharedFile("models", "extra", "network_tester_model.tflite")]);
    out.push(["trained_lstm", sharedFile("models", "extra", "trained_lstm_int8.tflite")]);
    out.push(["kws", sharedFile("models", "mlperf-tiny", "kws_ref_model.tflite")]);
  }
  return out;
}

describe("hostile bytes", () => {
  if (!SHARED) console.warn(`${NO_SHARED} (fuzzing only builder-made models)`);

  it("truncated at many lengths: typed error (data buffers sit at the end of the file)", () => {
    for (const [name, bytes] of corpus()) {
      const step = Math.max(1, Math.floor(bytes.length / 400));
      let failures = 0, tried = 0;
      for (let len = 0; len < bytes.length; len += step) {
        tried++;
        const e = outcome(bytes.subarray(0, len));
        if (e) failures++;
        // Cutting more than the final alignment padding removes constant data: must fail.
        if (len <= bytes.length - 16) expect(e, `${name} truncated to ${len}`).not.toBeNull();
      }
      expect(failures, name).toBeGreaterThan(tried * 0.9);
    }
  });

  it("a random byte flip at each of many positions: parse or typed error, never anything else (seeded)", () => {
    const rand = prng(20260101);
    for (const [name, bytes] of corpus()) {
      const positions = bytes.length <= 4096 ? bytes.length : 3000;
      let errors = 0;
      for (let k = 0; k < positions; k++) {
        const pos = bytes.length <= 4096 ? k : Math.floor(rand() * bytes.length);
        const mutated = bytes.slice();
        mutated[pos] ^= 1 + Math.floor(rand() * 255);
        if (outcome(mutated)) errors++;
      }
      expect(errors, `${name}: some flips must be detected`).toBeGreaterThan(0);
    }
  });

  it("random 32-bit words written at random positions: parse or typed error (seeded)", () => {
    const rand = prng(7);
    for (const [, bytes] of corpus()) {
      for (let k = 0; k < 1500; k++) {
        const mutated = bytes.slice();
        const pos = Math.floor(rand() * (bytes.length - 4)) & ~3;
        const word = [0, 0xffffffff, 0x7fffffff, 0x80000000, Math.floor(rand() * 2 ** 32), Math.floor(rand() * bytes.length)][k % 6];
        new DataView(mutated.buffer).setUint32(pos, word >>> 0, true);
        outcome(mutated);
      }
    }
  });

  it("aliased vectors cannot make parsing quadratic: every tensor name points at one 1 MB string", () => {
    // 2000 names aliasing one 1 MB string would decode 2 GB of text; the work budget stops that.
    const g = new GraphBuilder();
    for (let i = 0; i < 2000; i++) g.act(`t${i}`, [1]);
    g.outputs = [];
    const base = g.build(false);
    const strPos = (base.length + 3) & ~3;
    const bytes = new Uint8Array(strPos + 4 + 1_000_000 + 4).fill(0x61);
    bytes.set(base);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(strPos, 1_000_000, true);
    const r = new FbReader(base);
    const sg = r.tables(r.root("m"), 2, "s")[0];
    for (const t of r.tables(sg, 0, "t")) {
      const p = r.field(t, 3, 4);
      dv.setUint32(p, strPos - p, true);
    }
    const e = outcome(bytes);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e!.message).toMatch(/decodes to far more data than it holds/);
  });
});
