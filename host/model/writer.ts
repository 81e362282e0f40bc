// writeModel: a model description -> .tflite flatbuffer bytes (schema version 3).
// Used by tests to build small models and by the training toolchain to export real ones, so the
// output follows what TFLite expects: identifier TFL3, buffer 0 as the empty sentinel, constant
// data 16-byte aligned, operator codes with both deprecated_builtin_code and builtin_code.
// By default the result is parsed back with parseModel, so a bad description fails here with the
// same typed error the loader would give; tests building deliberately broken files pass
// { validate: false }.
import { Builder } from "flatbuffers";
import { InvalidArgumentError } from "../errors.js";
import { OPTIONS_BY_OP, type OptionValue, type Options } from "./options.js";
import { parseModel } from "./reader.js";
import {
  BufferSlot, FILE_IDENTIFIER, MetadataSlot, ModelSlot, OperatorCodeSlot, OperatorSlot,
  PLACEHOLDER_FOR_GREATER_OP_CODES, QuantSlot, SCHEMA_VERSION, SubGraphSlot, TensorSlot, opName,
} from "./schema.js";

export interface QuantizationDesc {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension?: number;
}

export interface TensorDesc {
  name?: string;
  /** TensorType code (types.ts TensorType). */
  type: number;
  shape: number[];
  /** Constant bytes (little-endian, row-major); absent/null for activations and variables. */
  data?: Uint8Array | null;
  quantization?: QuantizationDesc | null;
  isVariable?: boolean;
}

export interface OperatorDesc {
  /** BuiltinOperator code. */
  opcode: number;
  version?: number;
  inputs: number[];
  outputs: number[];
  intermediates?: number[];
  /** camelCase builtin options as in Operator.options; missing fields take schema defaults. */
  options?: Options;
}

export interface ModelDesc {
  description?: string;
  subgraphName?: string;
  tensors: TensorDesc[];
  operators: OperatorDesc[];
  inputs: number[];
  outputs: number[];
  /** Model metadata entries, e.g. { name: "min_runtime_version", data: utf8("1.5.0") }. */
  metadata?: { name: string; data: Uint8Array }[];
}

export interface WriteOptions {
  /** Parse the result with parseModel before returning it (default true). */
  validate?: boolean;
}

/** Alignment of constant data (Buffer.data is force_align: 16 in the schema). */
const DATA_ALIGN = 16;

export function writeModel(desc: ModelDesc, opts: WriteOptions = {}): Uint8Array {
  const b = new Builder(1024);

  // Buffers: 0 is the empty sentinel; each constant tensor, then each metadata entry, gets one.
  const bufferData: (Uint8Array | null)[] = [null];
  const tensorBuffer = desc.tensors.map((t) => {
    if (!t.data || t.data.length === 0) return 0;
    bufferData.push(t.data);
    return bufferData.length - 1;
  });
  const metadataBuffer = (desc.metadata ?? []).map((m) => {
    bufferData.push(m.data);
    return bufferData.length - 1;
  });

  // Operator codes: one per distinct (code, version), in first-use order.
  const codeKeys: string[] = [];
  const codeList: { code: number; version: number }[] = [];
  const opcodeIndex = desc.operators.map((op) => {
    const version = op.version ?? 1;
    const key = `${op.opcode}/${version}`;
    let i = codeKeys.indexOf(key);
    if (i < 0) {
      i = codeKeys.length;
      codeKeys.push(key);
      codeList.push({ code: op.opcode, version });
    }
    return i;
  });

  // Children are written before their parents (flatbuffers build back to front).
  const buffersVec = offsetVector(b, bufferData.map((d) => writeBuffer(b, d)));
  const codesVec = offsetVector(b, codeList.map((c) => {
    b.startObject(4);
    b.addFieldInt32(OperatorCodeSlot.builtinCode, c.code, 0);
    b.addFieldInt32(OperatorCodeSlot.version, c.version, 1);
    b.addFieldInt8(OperatorCodeSlot.deprecatedBuiltinCode, Math.min(c.code, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
    return b.endObject();
  }));
  const tensorsVec = offsetVector(b, desc.tensors.map((t, i) => writeTensor(b, t, tensorBuffer[i])));
  const operatorsVec = offsetVector(b, desc.operators.map((op, i) => writeOperator(b, op, opcodeIndex[i], i)));
  const inputsVec = int32Vector(b, desc.inputs);
  const outputsVec = int32Vector(b, desc.outputs);
  const sgName = desc.subgraphName !== undefined ? b.createString(desc.subgraphName) : 0;
  b.startObject(5);
  b.addFieldOffset(SubGraphSlot.tensors, tensorsVec, 0);
  b.addFieldOffset(SubGraphSlot.inputs, inputsVec, 0);
  b.addFieldOffset(SubGraphSlot.outputs, outputsVec, 0);
  b.addFieldOffset(SubGraphSlot.operators, operatorsVec, 0);
  if (sgName) b.addFieldOffset(SubGraphSlot.name, sgName, 0);
  const subgraphsVec = offsetVector(b, [b.endObject()]);

  const metadataVec = desc.metadata?.length
    ? offsetVector(b, desc.metadata.map((m, i) => {
      const name = b.createString(m.name);
      b.startObject(2);
      b.addFieldOffset(MetadataSlot.name, name, 0);
      b.addFieldInt32(MetadataSlot.buffer, metadataBuffer[i], 0);
      return b.endObject();
    }))
    : 0;
  const description = b.createString(desc.description ?? "");

  b.startObject(7);
  b.addFieldInt32(ModelSlot.version, SCHEMA_VERSION, 0);
  b.addFieldOffset(ModelSlot.operatorCodes, codesVec, 0);
  b.addFieldOffset(ModelSlot.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(ModelSlot.description, description, 0);
  b.addFieldOffset(ModelSlot.buffers, buffersVec, 0);
  if (metadataVec) b.addFieldOffset(ModelSlot.metadata, metadataVec, 0);
  b.finish(b.endObject(), FILE_IDENTIFIER);

  const bytes = b.asUint8Array().slice();
  if (opts.validate ?? true) parseModel(bytes);
  return bytes;
}

function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function int32Vector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i] | 0);
  return b.endVector();
}

function writeBuffer(b: Builder, data: Uint8Array | null): number {
  let dataVec = 0;
  if (data) {
    b.startVector(1, data.length, DATA_ALIGN);
    for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
    dataVec = b.endVector();
  }
  b.startObject(1);
  if (dataVec) b.addFieldOffset(BufferSlot.data, dataVec, 0);
  return b.endObject();
}

function writeTensor(b: Builder, t: TensorDesc, buffer: number): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name ?? "");
  let quant = 0;
  if (t.quantization) {
    const q = t.quantization;
    b.startVector(4, q.scale.length, 4);
    for (let i = q.scale.length - 1; i >= 0; i--) b.addFloat32(q.scale[i]);
    const scale = b.endVector();
    b.startVector(8, q.zeroPoint.length, 8);
    for (let i = q.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(q.zeroPoint[i]));
    const zp = b.endVector();
    b.startObject(7);
    b.addFieldOffset(QuantSlot.scale, scale, 0);
    b.addFieldOffset(QuantSlot.zeroPoint, zp, 0);
    b.addFieldInt32(QuantSlot.quantizedDimension, q.quantizedDimension ?? 0, 0);
    quant = b.endObject();
  }
  b.startObject(6);
  b.addFieldOffset(TensorSlot.shape, shape, 0);
  b.addFieldInt32(TensorSlot.buffer, buffer, 0);
  b.addFieldOffset(TensorSlot.name, name, 0);
  if (quant) b.addFieldOffset(TensorSlot.quantization, quant, 0);
  b.addFieldInt8(TensorSlot.type, t.type, 0);
  b.addFieldInt8(TensorSlot.isVariable, t.isVariable ? 1 : 0, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: OperatorDesc, opcodeIndex: number, index: number): number {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const intermediates = op.intermediates?.length ? int32Vector(b, op.intermediates) : 0;
  const opts = writeOptions(b, op, index);
  b.startObject(9);
  b.addFieldInt32(OperatorSlot.opcodeIndex, opcodeIndex, 0);
  b.addFieldOffset(OperatorSlot.inputs, inputs, 0);
  b.addFieldOffset(OperatorSlot.outputs, outputs, 0);
  if (opts) {
    b.addFieldOffset(OperatorSlot.builtinOptions, opts.table, 0);
    b.addFieldInt8(OperatorSlot.builtinOptionsType, opts.tag, 0);
  }
  if (intermediates) b.addFieldOffset(OperatorSlot.intermediates, intermediates, 0);
  return b.endObject();
}

/** The op's options table (or null when the op takes none / only an absent vector). */
function writeOptions(b: Builder, op: OperatorDesc, index: number): { tag: number; table: number } | null {
  const given = op.options ?? {};
  const spec = OPTIONS_BY_OP.get(op.opcode);
  const where = `operators[${index}] (${opName(op.opcode)})`;
  if (!spec) {
    if (Object.keys(given).length > 0) throw new InvalidArgumentError(`${where}: qedge does not know options for this op`);
    return null;
  }
  for (const k of Object.keys(given)) {
    if (!spec.fields.some((f) => f.name === k)) throw new InvalidArgumentError(`${where}: unknown option "${k}" for ${spec.name}`);
  }
  // An op whose table holds only an absent vector (RESHAPE without newShape) gets no table,
  // as in files from the TFLite converter (KWS).
  if (spec.fields.every((f) => f.def === undefined && given[f.name] === undefined)) return null;

  const vectors = new Map<string, number>();
  for (const f of spec.fields) {
    if (f.kind === "i32s" && given[f.name] !== undefined) vectors.set(f.name, int32Vector(b, asArray(given[f.name], where, f.name)));
  }
  b.startObject(spec.fields.reduce((m, f) => Math.max(m, f.slot + 1), 0));
  for (const f of spec.fields) {
    const v = given[f.name] ?? f.def;
    if (v === undefined) continue;
    switch (f.kind) {
      case "i8": case "u8": b.addFieldInt8(f.slot, asNumber(v, where, f.name), f.def as number); break;
      case "bool": b.addFieldInt8(f.slot, v ? 1 : 0, f.def ? 1 : 0); break;
      case "i32": b.addFieldInt32(f.slot, asNumber(v, where, f.name), f.def as number); break;
      case "f32": b.addFieldFloat32(f.slot, asNumber(v, where, f.name), f.def as number); break;
      case "i32s": b.addFieldOffset(f.slot, vectors.get(f.name)!, 0); break;
    }
  }
  return { tag: spec.tag, table: b.endObject() };
}

function asNumber(v: OptionValue, where: string, name: string): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "number") throw new InvalidArgumentError(`${where}: option "${name}" must be a number`);
  return v;
}

function asArray(v: OptionValue, where: string, name: string): number[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${where}: option "${name}" must be an array of integers`);
  return v;
}
