// Test-side conveniences over host/model/writer.ts: a small graph builder, a few ready-made
// models that need no third-party files, and raw flatbuffer models for the malformed-file cases
// the writer cannot express (several subgraphs, other schema versions, external buffers, custom ops).
import { mulberry32 } from "../../host/util/random.js";
import { Builder } from "flatbuffers";
import { writeModel, type ModelDesc, type OperatorDesc, type QuantizationDesc, type TensorDesc } from "../../host/model/writer.js";
import { BuiltinOp, TensorType } from "../../host/model/types.js";
import type { Options } from "../../host/model/options.js";

export class GraphBuilder {
  readonly tensors: TensorDesc[] = [];
  readonly operators: OperatorDesc[] = [];
  inputs: number[] = [];
  outputs: number[] = [];
  description = "qedge test model";

  tensor(t: TensorDesc): number {
    this.tensors.push(t);
    return this.tensors.length - 1;
  }

  /** An int8 activation tensor with per-tensor quantization. */
  act(name: string, shape: number[], scale = 0.05, zeroPoint = 0, type: number = TensorType.INT8): number {
    return this.tensor({ name, type, shape, quantization: { scale: [scale], zeroPoint: [zeroPoint] } });
  }

  /** A constant int8 tensor; `values` row-major. */
  constI8(name: string, shape: number[], values: number[], q?: QuantizationDesc): number {
    return this.tensor({ name, type: TensorType.INT8, shape, data: new Uint8Array(Int8Array.from(values).buffer), quantization: q ?? null });
  }

  /** A constant int32 tensor (bias, shape operands). */
  constI32(name: string, shape: number[], values: number[], q?: QuantizationDesc): number {
    return this.tensor({ name, type: TensorType.INT32, shape, data: new Uint8Array(Int32Array.from(values).buffer), quantization: q ?? null });
  }

  op(opcode: number, inputs: number[], outputs: number[], options?: Options, version?: number, intermediates?: number[]): number {
    this.operators.push({ opcode, inputs, outputs, options, version, intermediates });
    return this.operators.length - 1;
  }

  desc(): ModelDesc {
    return { description: this.description, tensors: this.tensors, operators: this.operators, inputs: this.inputs, outputs: this.outputs };
  }

  build(validate = true): Uint8Array {
    return writeModel(this.desc(), { validate });
  }
}

/**
 * input [1,4] int8 -> FULLY_CONNECTED (weights [3,4] per-tensor, bias [3]) -> [1,3]
 * -> SOFTMAX -> [1,3]. Tensor indices: 0 input, 1 weights, 2 bias, 3 logits, 4 probabilities.
 */
export function tinyFcGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const input = g.act("input", [1, 4], 0.5, -3);
  const w = g.constI8("weights", [3, 4], [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12], { scale: [0.25], zeroPoint: [0] });
  const bias = g.constI32("bias", [3], [100, -200, 300], { scale: [0.125], zeroPoint: [0] });
  const logits = g.act("logits", [1, 3], 0.75, 7);
  const probs = g.act("probs", [1, 3], 1 / 256, -128);
  g.op(BuiltinOp.FULLY_CONNECTED, [input, w, bias], [logits], { fusedActivationFunction: 1, keepNumDims: false }, 4);
  g.op(BuiltinOp.SOFTMAX, [logits], [probs], { beta: 1 }, 2);
  g.inputs = [input];
  g.outputs = [probs];
  return g;
}

/**
 * input [1,5,5,2] -> CONV_2D 3x3 stride 2 SAME RELU6 (per-channel weights [4,3,3,2], bias [4])
 * -> [1,3,3,4] -> DEPTHWISE_CONV_2D 3x3 VALID (weights [1,3,3,4]) -> [1,1,1,4] -> RESHAPE (no
 * options, shape operand [1,4]) -> [1,4]. The graph input is the last tensor, as in person_detect.
 */
export function tinyConvGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const wVals = Array.from({ length: 4 * 3 * 3 * 2 }, (_, i) => ((i * 37) % 255) - 127);
  const w = g.constI8("conv/w", [4, 3, 3, 2], wVals, { scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: [0, 0, 0, 0], quantizedDimension: 0 });
  const b = g.constI32("conv/b", [4], [1, -2, 3, -4], { scale: [0.001, 0.002, 0.003, 0.004], zeroPoint: [0, 0, 0, 0] });
  const convOut = g.act("conv/out", [1, 3, 3, 4], 0.1, -128);
  const dwW = g.constI8("dw/w", [1, 3, 3, 4], Array.from({ length: 36 }, (_, i) => i - 18),
    { scale: [0.5, 0.25, 0.125, 0.0625], zeroPoint: [0], quantizedDimension: 3 });
  // Bias with quantized_dimension copied from the weights, as person_detect has it.
  const dwB = g.constI32("dw/b", [4], [0, 0, 0, 0], { scale: [0.05, 0.025, 0.0125, 0.00625], zeroPoint: [0, 0, 0, 0], quantizedDimension: 3 });
  const dwOut = g.act("dw/out", [1, 1, 1, 4], 0.2, 3);
  const shape = g.constI32("reshape/shape", [2], [1, 4]);
  const out = g.act("output", [1, 4], 0.2, 3);
  const input = g.act("input", [1, 5, 5, 2], 1 / 128, 0);
  g.op(BuiltinOp.CONV_2D, [input, w, b], [convOut],
    { padding: 0, strideW: 2, strideH: 2, fusedActivationFunction: 3, dilationWFactor: 1, dilationHFactor: 1 }, 3);
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [convOut, dwW, dwB], [dwOut],
    { padding: 1, strideW: 1, strideH: 1, depthMultiplier: 1, fusedActivationFunction: 0 }, 3);
  g.op(BuiltinOp.RESHAPE, [dwOut, shape], [out], {}, 1);
  g.inputs = [input];
  g.outputs = [out];
  return g;
}

export interface RawModelOptions {
  version?: number;
  subgraphs?: number;
  /** Give buffer 1 external-data offset/size fields. */
  externalBuffer?: boolean;
  /** Make the only operator a CUSTOM op with this custom_code. */
  customCode?: string;
  /** Extra operator codes that no operator uses. */
  unusedOpcodes?: number[];
  /** Omit the file identifier. */
  noIdentifier?: boolean;
}

/**
 * A hand-assembled model (identity-like graph: one op, tensor 0 -> tensor 1) with knobs for the
 * cases writeModel never produces.
 */
export function rawModel(o: RawModelOptions = {}): Uint8Array {
  const b = new Builder(256);
  const vec32 = (vals: number[]) => {
    b.startVector(4, vals.length, 4);
    for (let i = vals.length - 1; i >= 0; i--) b.addInt32(vals[i]);
    return b.endVector();
  };
  const offVec = (offs: number[]) => {
    b.startVector(4, offs.length, 4);
    for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]);
    return b.endVector();
  };
  const buffers: number[] = [];
  b.startObject(3);
  buffers.push(b.endObject());
  b.startObject(3);
  if (o.externalBuffer) {
    b.addFieldInt64(1, 4096n, 0n);
    b.addFieldInt64(2, 16n, 0n);
  }
  buffers.push(b.endObject());
  const buffersVec = offVec(buffers);

  const custom = o.customCode !== undefined ? b.createString(o.customCode) : 0;
  b.startObject(4);
  if (custom) {
    b.addFieldOffset(1, custom, 0);
    b.addFieldInt8(0, 32, 0);
    b.addFieldInt32(3, 32, 0);
  } else {
    b.addFieldInt8(0, BuiltinOp.RELU, 0);
    b.addFieldInt32(3, BuiltinOp.RELU, 0);
  }
  const codes = [b.endObject()];
  for (const c of o.unusedOpcodes ?? []) {
    b.startObject(4);
    b.addFieldInt8(0, Math.min(c, 127), 0);
    b.addFieldInt32(3, c, 0);
    codes.push(b.endObject());
  }
  const codesVec = offVec(codes);

  const subgraphs: number[] = [];
  for (let s = 0; s < (o.subgraphs ?? 1); s++) {
    const tensors = [0, 1].map(() => {
      const shape = vec32([1, 4]);
      b.startObject(4);
      b.addFieldOffset(0, shape, 0);
      b.addFieldInt8(1, TensorType.FLOAT32, 0);
      return b.endObject();
    });
    const tensorsVec = offVec(tensors);
    const opIn = vec32([0]);
    const opOut = vec32([1]);
    b.startObject(3);
    b.addFieldOffset(1, opIn, 0);
    b.addFieldOffset(2, opOut, 0);
    const opsVec = offVec([b.endObject()]);
    const inVec = vec32([0]);
    const outVec = vec32([1]);
    b.startObject(4);
    b.addFieldOffset(0, tensorsVec, 0);
    b.addFieldOffset(1, inVec, 0);
    b.addFieldOffset(2, outVec, 0);
    b.addFieldOffset(3, opsVec, 0);
    subgraphs.push(b.endObject());
  }
  const sgVec = offVec(subgraphs);
  b.startObject(5);
  b.addFieldInt32(0, o.version ?? 3, 0);
  b.addFieldOffset(1, codesVec, 0);
  b.addFieldOffset(2, sgVec, 0);
  b.addFieldOffset(4, buffersVec, 0);
  b.finish(b.endObject(), o.noIdentifier ? undefined : "TFL3");
  return b.asUint8Array().slice();
}

/** Deterministic PRNG (mulberry32) for the fuzz-style tests. */
export const prng = mulberry32;
