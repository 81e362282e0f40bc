// parseModel on well-formed models: builder-made ones (always run) and the third-party models in
// ../shared, checking the loader facts listed in the models' READMEs.
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseModel } from "../../host/model/reader.js";
import { opName, opCodeByName } from "../../host/model/schema.js";
import { BuiltinOp, TensorType } from "../../host/model/types.js";
import { SHARED, NO_SHARED, sharedFile } from "../helpers/shared.js";
import { rawModel, tinyConvGraph, tinyFcGraph } from "../helpers/tflite-builder.js";
import { FbReader } from "../../host/model/fbreader.js";

describe("opName table", () => {
  it("names codes as in schema.fbs", () => {
    expect(opName(0)).toBe("ADD");
    expect(opName(3)).toBe("CONV_2D");
    expect(opName(44)).toBe("UNIDIRECTIONAL_SEQUENCE_LSTM");
    expect(opName(114)).toBe("QUANTIZE");
    expect(opName(126)).toBe("BATCH_MATMUL");
    expect(opName(127)).toBe("PLACEHOLDER_FOR_GREATER_OP_CODES");
    expect(opName(150)).toBe("GELU");
    expect(opName(161)).toBe("RIGHT_SHIFT");
    expect(opName(205)).toBe("REDUCE_WINDOW");
    expect(opName(225)).toBe("TEMP_STREAMING_CONV_2D");
    expect(opName(999)).toBe("BUILTIN_999");
  });
  it("agrees with the BuiltinOp constants in types.ts", () => {
    for (const [name, code] of Object.entries(BuiltinOp)) expect(opCodeByName(name)).toBe(code);
  });
});

describe("builder-made models", () => {
  it("tiny FC + SOFTMAX: every field as described", () => {
    const g = parseModel(tinyFcGraph().build());
    expect(g.version).toBe(3);
    expect(g.description).toBe("qedge test model");
    expect(g.inputs).toEqual([0]);
    expect(g.outputs).toEqual([4]);
    expect(g.tensors.map((t) => t.name)).toEqual(["input", "weights", "bias", "logits", "probs"]);
    const w = g.tensors[1];
    expect(w.type).toBe(TensorType.INT8);
    expect(w.shape).toEqual([3, 4]);
    expect(w.byteLength).toBe(12);
    expect(Array.from(new Int8Array(w.data!.buffer, w.data!.byteOffset, 12))).toEqual([1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12]);
    expect(w.quantization).toEqual({ scale: [0.25], zeroPoint: [0], quantizedDimension: 0 });
    const bias = g.tensors[2];
    expect(bias.type).toBe(TensorType.INT32);
    expect(bias.byteLength).toBe(12);
    expect(new DataView(bias.data!.buffer, bias.data!.byteOffset).getInt32(4, true)).toBe(-200);
    expect(g.tensors[0].data).toBeNull();
    expect(g.tensors[0].quantization).toEqual({ scale: [0.5], zeroPoint: [-3], quantizedDimension: 0 });
    expect(g.tensors[4].quantization!.scale[0]).toBe(1 / 256);
    expect(g.operators).toHaveLength(2);
    const fc = g.operators[0];
    expect(fc.opcode).toBe(BuiltinOp.FULLY_CONNECTED);
    expect(fc.opName).toBe("FULLY_CONNECTED");
    expect(fc.version).toBe(4);
    expect(fc.inputs).toEqual([0, 1, 2]);
    expect(fc.outputs).toEqual([3]);
    expect(fc.intermediates).toEqual([]);
    expect(fc.options).toEqual({ fusedActivationFunction: 1, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 });
    expect(g.operators[1].options).toEqual({ beta: 1 });
    expect(g.operators[1].version).toBe(2);
  });

  it("constant data is a view into the file bytes, not a copy", () => {
    const bytes = tinyFcGraph().build();
    const g = parseModel(bytes);
    const d = g.tensors[1].data!;
    expect(d.buffer).toBe(bytes.buffer);
    expect(g.fileBytes).toBe(bytes.length);
  });

  it("tiny conv graph: per-channel quantization, rank-1 bias with quantized_dimension 3, RESHAPE without options, input not tensor 0", () => {
    const g = parseModel(tinyConvGraph().build());
    expect(g.inputs).toEqual([8]);
    expect(g.operators.map((o) => o.opName)).toEqual(["CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE"]);
    expect(g.operators[0].options).toMatchObject({ padding: 0, strideW: 2, strideH: 2, fusedActivationFunction: 3 });
    expect(g.operators[1].options).toMatchObject({ padding: 1, depthMultiplier: 1, dilationWFactor: 1 });
    expect(g.operators[2].options).toEqual({});
    expect(g.tensors[0].quantization!.scale).toHaveLength(4);
    expect(g.tensors[4].quantization!.quantizedDimension).toBe(3);
    expect(g.tensors[3].quantization!.zeroPoint).toEqual([0]); // scalar zero point for 4 scales
  });

  it("unused opcode entries are fine (QUANTIZE and DEQUANTIZE listed, used by no operator)", () => {
    const g = parseModel(rawModel({ unusedOpcodes: [BuiltinOp.QUANTIZE, BuiltinOp.DEQUANTIZE] }));
    expect(g.operators.map((o) => o.opName)).toEqual(["RELU"]);
  });
});

const MODELS: [string, string][] = SHARED
  ? [["models", "mlperf-tiny"], ["models", "extra"], ["models", "extra", "float-io"]].flatMap((p) =>
    readdirSync(join(SHARED!, ...p)).filter((f) => f.endsWith(".tflite")).map((f) => [join(...p, f), f] as [string, string]))
  : [];

function load(...p: string[]) {
  return parseModel(sharedFile(...p));
}

/** Read the raw OperatorCode fields with the checked reader (independent of parseModel's max rule). */
function rawOpCodes(bytes: Uint8Array): { dep: number; builtin: number }[] {
  const r = new FbReader(bytes);
  return r.tables(r.root("model"), 1, "operator_codes").map((t) => ({ dep: r.i8(t, 0), builtin: r.i32(t, 3) }));
}

describe.skipIf(!SHARED)(`third-party models (${SHARED ? "../shared" : NO_SHARED})`, () => {
  it("there are 13 .tflite models and every one parses", () => {
    expect(MODELS.length).toBe(13);
    for (const [path] of MODELS) {
      const g = parseModel(sharedFile(path));
      expect(g.version, path).toBe(3);
      expect(g.operators.length, path).toBeGreaterThan(0);
    }
  });

  it("README tables: tensor/op counts, graph inputs and outputs", () => {
    const expected: Record<string, [number, number, number[], number[]]> = {
      "kws_ref_model.tflite": [35, 13, [0], [34]],
      "vww_96_int8.tflite": [89, 31, [0], [88]],
      "pretrainedResnet_quant.tflite": [38, 16, [0], [37]],
      "ad01_int8.tflite": [31, 10, [0], [30]],
      "pretrainedResnet_large_int8.tflite": [38, 16, [0], [37]],
      "str_ww_ref_model.tflite": [31, 11, [0], [30]],
      "hello_world_int8.tflite": [10, 3, [0], [9]],
      "micro_speech_quantized.tflite": [10, 4, [3], [9]],
      "person_detect.tflite": [89, 31, [88], [87]],
      "network_tester_model.tflite": [4, 1, [0], [3]],
      "trained_lstm_int8.tflite": [27, 4, [0], [26]],
      "dtln_noise_suppression.tflite": [45, 4, [0], [44]],
      "test_conv_model.tflite": [15, 7, [13], [14]],
    };
    for (const [path, file] of MODELS) {
      const g = parseModel(sharedFile(path));
      const [nt, no, ins, outs] = expected[file];
      expect([g.tensors.length, g.operators.length, g.inputs, g.outputs], file).toEqual([nt, no, ins, outs]);
    }
  });

  it("KWS and AD store the op code only in deprecated_builtin_code; the loader takes the larger field", () => {
    for (const f of ["kws_ref_model.tflite", "ad01_int8.tflite"]) {
      const bytes = sharedFile("models", "mlperf-tiny", f);
      const raw = rawOpCodes(bytes);
      expect(raw.every((c) => c.builtin === 0), f).toBe(true);
      expect(raw.some((c) => c.dep !== 0), f).toBe(true);
    }
    const kws = load("models", "mlperf-tiny", "kws_ref_model.tflite");
    const counts: Record<string, number> = {};
    for (const op of kws.operators) counts[op.opName] = (counts[op.opName] ?? 0) + 1;
    expect(counts).toEqual({ CONV_2D: 5, DEPTHWISE_CONV_2D: 4, AVERAGE_POOL_2D: 1, RESHAPE: 1, FULLY_CONNECTED: 1, SOFTMAX: 1 });
    const ad = load("models", "mlperf-tiny", "ad01_int8.tflite");
    expect(ad.operators.every((o) => o.opName === "FULLY_CONNECTED" && o.version === 4)).toBe(true);
  });

  it("VWW and IC fill both code fields and list unused QUANTIZE/DEQUANTIZE opcodes", () => {
    for (const f of ["vww_96_int8.tflite", "pretrainedResnet_quant.tflite"]) {
      const bytes = sharedFile("models", "mlperf-tiny", f);
      const raw = rawOpCodes(bytes);
      const codes = raw.map((c) => Math.max(c.dep, c.builtin));
      expect(codes, f).toContain(BuiltinOp.QUANTIZE);
      expect(codes, f).toContain(BuiltinOp.DEQUANTIZE);
      const g = parseModel(bytes);
      expect(g.operators.some((o) => o.opcode === BuiltinOp.QUANTIZE || o.opcode === BuiltinOp.DEQUANTIZE), f).toBe(false);
    }
  });

  it("KWS RESHAPE has no options table; its target shape is a constant int32 input", () => {
    const g = load("models", "mlperf-tiny", "kws_ref_model.tflite");
    const reshape = g.operators.find((o) => o.opName === "RESHAPE")!;
    expect(reshape.options).toEqual({});
    const shapeT = g.tensors[reshape.inputs[1]];
    expect(shapeT.type).toBe(TensorType.INT32);
    expect(shapeT.data).not.toBeNull();
  });

  it("op versions and options match the README (KWS first conv: 10x4 stride 2 SAME RELU; SOFTMAX beta 1)", () => {
    const g = load("models", "mlperf-tiny", "kws_ref_model.tflite");
    const v: Record<string, number> = {};
    for (const op of g.operators) v[op.opName] = op.version;
    expect(v).toEqual({ CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4, AVERAGE_POOL_2D: 2, SOFTMAX: 2, RESHAPE: 1 });
    const conv = g.operators[0];
    expect(conv.options).toMatchObject({ padding: 0, strideW: 2, strideH: 2, fusedActivationFunction: 1, dilationWFactor: 1, dilationHFactor: 1 });
    expect(g.tensors[conv.inputs[1]].shape).toEqual([64, 10, 4, 1]);
    const pool = g.operators.find((o) => o.opName === "AVERAGE_POOL_2D")!;
    expect(pool.options).toMatchObject({ padding: 1, filterWidth: 5, filterHeight: 25 });
    expect(g.operators.find((o) => o.opName === "SOFTMAX")!.options).toEqual({ beta: 1 });
    const input = g.tensors[0];
    expect(input.shape).toEqual([1, 49, 10, 1]);
    expect(input.quantization!.zeroPoint).toEqual([83]);
    expect(input.quantization!.scale[0]).toBeCloseTo(0.584702909, 8);
  });

  it("person_detect: DW bias rank 1 with quantized_dimension 3 is accepted; input t88, output t87; RELU6", () => {
    const g = load("models", "extra", "person_detect.tflite");
    const dw = g.operators.filter((o) => o.opName === "DEPTHWISE_CONV_2D");
    expect(dw).toHaveLength(14);
    for (const op of dw) {
      const bias = g.tensors[op.inputs[2]];
      expect(bias.shape).toHaveLength(1);
      expect(bias.quantization!.quantizedDimension).toBe(3);
      expect(bias.quantization!.scale).toHaveLength(bias.shape[0]);
    }
    expect(dw[0].options).toMatchObject({ depthMultiplier: 8, strideW: 2, fusedActivationFunction: 3 });
    expect(g.inputs).toEqual([88]);
    expect(g.outputs).toEqual([87]);
    expect(g.operators.filter((o) => o.opName === "CONV_2D").every((o) => o.version === 2)).toBe(true);
  });

  it("micro_speech: graph input t3 feeds a RESHAPE first; DW depth_multiplier 8 with a 10x8 kernel", () => {
    const g = load("models", "extra", "micro_speech_quantized.tflite");
    expect(g.inputs).toEqual([3]);
    expect(g.operators[0].opName).toBe("RESHAPE");
    expect(g.operators[0].inputs[0]).toBe(3);
    expect(g.tensors[3].shape).toEqual([1, 1960]);
    const dw = g.operators[1];
    expect(dw.options).toMatchObject({ depthMultiplier: 8, strideW: 2, strideH: 2, padding: 0, fusedActivationFunction: 1 });
    expect(g.tensors[dw.inputs[1]].shape).toEqual([1, 10, 8, 8]);
  });

  it("LSTM models: 5 intermediates per LSTM, 9 omitted inputs, variable state tensors, options", () => {
    for (const f of ["trained_lstm_int8.tflite", "dtln_noise_suppression.tflite"]) {
      const g = load("models", "extra", f);
      const lstms = g.operators.filter((o) => o.opName === "UNIDIRECTIONAL_SEQUENCE_LSTM");
      expect(lstms.length, f).toBe(f.startsWith("dtln") ? 2 : 1);
      for (const op of lstms) {
        expect(op.inputs).toHaveLength(24);
        expect(op.inputs.filter((i) => i === -1)).toHaveLength(9);
        expect(op.intermediates).toHaveLength(5);
        const types = op.intermediates.map((i) => g.tensors[i].type).sort();
        expect(types).toEqual([TensorType.FLOAT32, TensorType.FLOAT32, TensorType.FLOAT32, TensorType.FLOAT32, TensorType.INT8].sort());
        expect(op.intermediates.every((i) => g.tensors[i].data === null)).toBe(true);
        for (const i of op.intermediates) {
          expect(op.inputs).not.toContain(i);
          expect(op.outputs).not.toContain(i);
        }
        expect(op.options).toMatchObject({ fusedActivationFunction: 4, cellClip: 10, projClip: 0, timeMajor: false });
        // Output state (input 18) and cell state (input 19) are variables without data.
        const [hs, cs] = [g.tensors[op.inputs[18]], g.tensors[op.inputs[19]]];
        expect(hs.isVariable && cs.isVariable).toBe(true);
        expect(hs.data).toBeNull();
        expect(hs.type).toBe(TensorType.INT8);
        expect(cs.type).toBe(TensorType.INT16);
      }
    }
    const dtln = load("models", "extra", "dtln_noise_suppression.tflite");
    const fc = dtln.operators.find((o) => o.opName === "FULLY_CONNECTED")!;
    expect(fc.version).toBe(5);
    expect(fc.options.keepNumDims).toBe(true);
    const lstm2 = dtln.operators.filter((o) => o.opName === "UNIDIRECTIONAL_SEQUENCE_LSTM")[1];
    expect(dtln.tensors[lstm2.inputs[18]].quantization!.zeroPoint).toEqual([-4]);
  });

  it("float-io test_conv_model: FLOAT32 graph input/output, QUANTIZE v1 and DEQUANTIZE v2 used, MAX_POOL_2D", () => {
    const g = load("models", "extra", "float-io", "test_conv_model.tflite");
    expect(g.tensors[g.inputs[0]].type).toBe(TensorType.FLOAT32);
    expect(g.tensors[g.outputs[0]].type).toBe(TensorType.FLOAT32);
    expect(g.operators[0]).toMatchObject({ opName: "QUANTIZE", version: 1 });
    expect(g.operators[6]).toMatchObject({ opName: "DEQUANTIZE", version: 2 });
    const pool = g.operators.find((o) => o.opName === "MAX_POOL_2D")!;
    expect(pool.options).toMatchObject({ filterWidth: 2, filterHeight: 2, strideW: 2, strideH: 2 });
  });

  it("CONV_2D weights are per-channel on dimension 0; FC weights per-tensor (VWW)", () => {
    const g = load("models", "mlperf-tiny", "vww_96_int8.tflite");
    for (const op of g.operators) {
      const w = op.inputs[1] !== undefined ? g.tensors[op.inputs[1]] : null;
      if (op.opName === "CONV_2D") {
        expect(w!.quantization!.quantizedDimension).toBe(0);
        expect(w!.quantization!.scale).toHaveLength(w!.shape[0]);
      }
      if (op.opName === "FULLY_CONNECTED") expect(w!.quantization!.scale).toHaveLength(1);
      if (op.opName === "DEPTHWISE_CONV_2D") expect(w!.quantization!.quantizedDimension).toBe(3);
    }
  });
});
