// parseModel: .tflite bytes -> validated ModelGraph.
// Everything is checked before anything runs: the flatbuffer structure (via FbReader, which
// range-checks every access), the schema version, index ranges, constant data sizes,
// quantization parameters and the dataflow order of the single subgraph. A malformed file gives
// a ModelFormatError naming the field path; a well-formed file using something qedge does not
// run (several subgraphs, custom ops, external buffers, sparse tensors) an UnsupportedModelError.
import { ModelFormatError, UnsupportedModelError, InvalidArgumentError } from "../errors.js";
import { FbReader, type Table } from "./fbreader.js";
import { parseBuiltinOptions } from "./options.js";
import {
  BufferSlot, CUSTOM_OPCODE, ELEMENT_SIZE, FILE_IDENTIFIER, MetadataSlot, ModelSlot, OperatorCodeSlot,
  OperatorSlot, QuantSlot, SCHEMA_VERSION, SubGraphSlot, TENSOR_TYPE_NAMES, TensorSlot, opName, tensorTypeName,
} from "./schema.js";
import type { ModelGraph, Operator, Quantization, Tensor } from "./types.js";

/** Largest tensor qedge accepts (bytes); also keeps element-count arithmetic exact. */
export const MAX_TENSOR_BYTES = 2 ** 31;
/** Highest rank accepted; TFLite kernels use at most 6. */
export const MAX_RANK = 8;

interface OpCode {
  code: number;
  version: number;
  customCode: string | null;
}

interface BufferEntry {
  data: Uint8Array | null;
}

const SG = "subgraphs[0]";

export function parseModel(bytes: Uint8Array): ModelGraph {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("parseModel expects a Uint8Array");
  if (bytes.length < 8) {
    throw new ModelFormatError("file", `${bytes.length} bytes is too short for a .tflite model (at least 8)`);
  }
  const ident = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (ident !== FILE_IDENTIFIER) {
    throw new ModelFormatError("file", `file identifier is ${JSON.stringify(ident)}, expected "${FILE_IDENTIFIER}" (not a .tflite model)`);
  }
  const r = new FbReader(bytes);
  const model = r.root("model");

  const version = r.u32(model, ModelSlot.version);
  if (version !== SCHEMA_VERSION) {
    throw new UnsupportedModelError("model.version", `schema version ${version}; qedge reads version ${SCHEMA_VERSION}`);
  }
  const description = r.string(model, ModelSlot.description, "model.description") ?? "";
  const opcodes = r.tables(model, ModelSlot.operatorCodes, "operator_codes").map((t, i) => readOpCode(r, t, i));
  const buffers = r.tables(model, ModelSlot.buffers, "buffers").map((t, i) => readBuffer(r, t, i));
  checkMetadata(r, model, buffers.length);

  const subgraphs = r.tables(model, ModelSlot.subgraphs, "subgraphs");
  if (subgraphs.length === 0) throw new ModelFormatError("subgraphs", "the model has no subgraph");
  if (subgraphs.length > 1) {
    throw new UnsupportedModelError("subgraphs", `the model has ${subgraphs.length} subgraphs; qedge runs single-subgraph models`);
  }
  const sg = subgraphs[0];

  const tensors = r.tables(sg, SubGraphSlot.tensors, `${SG}.tensors`)
    .map((t, i) => readTensor(r, t, i, buffers));
  const n = tensors.length;
  const inputs = readIndexList(r, sg, SubGraphSlot.inputs, `${SG}.inputs`, n, false);
  const outputs = readIndexList(r, sg, SubGraphSlot.outputs, `${SG}.outputs`, n, false);
  checkUnique(inputs, `${SG}.inputs`);
  checkUnique(outputs, `${SG}.outputs`);

  const operators = r.tables(sg, SubGraphSlot.operators, `${SG}.operators`)
    .map((t, i) => readOperator(r, t, i, opcodes, n));

  checkDataflow(tensors, operators, inputs, outputs);

  return { version, description, tensors, operators, inputs, outputs, fileBytes: bytes.length };
}

function readOpCode(r: FbReader, t: Table, i: number): OpCode {
  const path = `operator_codes[${i}]`;
  const deprecated = r.i8(t, OperatorCodeSlot.deprecatedBuiltinCode);
  const builtin = r.i32(t, OperatorCodeSlot.builtinCode);
  if (deprecated < 0) throw new ModelFormatError(`${path}.deprecated_builtin_code`, `negative op code ${deprecated}`);
  if (builtin < 0) throw new ModelFormatError(`${path}.builtin_code`, `negative op code ${builtin}`);
  // Older files fill only the byte field (builtin_code reads 0 = ADD); newer ones both.
  const code = Math.max(deprecated, builtin);
  const version = r.i32(t, OperatorCodeSlot.version, 1);
  if (version < 1) throw new ModelFormatError(`${path}.version`, `op version ${version} (must be >= 1)`);
  const customCode = code === CUSTOM_OPCODE ? r.string(t, OperatorCodeSlot.customCode, `${path}.custom_code`) : null;
  return { code, version, customCode };
}

function readBuffer(r: FbReader, t: Table, i: number): BufferEntry {
  const path = `buffers[${i}]`;
  const offset = r.u64(t, BufferSlot.offset);
  const size = r.u64(t, BufferSlot.size);
  if (offset > 1n || size > 1n) {
    throw new UnsupportedModelError(path, `data stored outside the flatbuffer (offset ${offset}, size ${size}) is not supported`);
  }
  const data = r.bytesView(t, BufferSlot.data, `${path}.data`);
  return { data: data && data.length > 0 ? data : null };
}

function checkMetadata(r: FbReader, model: Table, nBuffers: number): void {
  r.tables(model, ModelSlot.metadata, "metadata").forEach((t, i) => {
    const b = r.u32(t, MetadataSlot.buffer);
    if (b >= nBuffers) throw new ModelFormatError(`metadata[${i}].buffer`, `buffer index ${b} out of range (${nBuffers} buffers)`);
  });
  if ((r.vector(model, ModelSlot.externalBuffers, 4, "external_buffers")?.length ?? 0) > 0) {
    throw new UnsupportedModelError("external_buffers", "models with external buffers are not supported");
  }
}

function readTensor(r: FbReader, t: Table, index: number, buffers: BufferEntry[]): Tensor {
  const path = `${SG}.tensors[${index}]`;
  const name = r.string(t, TensorSlot.name, `${path}.name`) ?? "";
  const type = r.i8(t, TensorSlot.type);
  if (type < 0 || type >= TENSOR_TYPE_NAMES.length) {
    throw new ModelFormatError(`${path}.type`, `unknown tensor type ${type}`);
  }
  const elemSize = ELEMENT_SIZE[type];
  if (elemSize === 0) {
    throw new UnsupportedModelError(`${path}.type`, `tensor type ${tensorTypeName(type)} is not supported`);
  }
  const shapeVec = r.vector(t, TensorSlot.shape, 4, `${path}.shape`);
  if (shapeVec && shapeVec.length > MAX_RANK) {
    throw new UnsupportedModelError(`${path}.shape`, `rank ${shapeVec.length} exceeds the maximum of ${MAX_RANK}`);
  }
  const shape = r.int32s(t, TensorSlot.shape, `${path}.shape`) ?? [];
  let elements = 1;
  shape.forEach((d, k) => {
    if (d === -1) throw new UnsupportedModelError(`${path}.shape[${k}]`, "dynamic dimension (-1): qedge runs static shapes only");
    if (d < 0) throw new ModelFormatError(`${path}.shape[${k}]`, `negative dimension ${d}`);
    elements *= d;
    // Checked at each step so the product stays an exact integer.
    if (elements * elemSize > MAX_TENSOR_BYTES) {
      throw new ModelFormatError(`${path}.shape`, `shape [${shape.join(",")}] of ${tensorTypeName(type)} exceeds ${MAX_TENSOR_BYTES} bytes`);
    }
  });
  const byteLength = elements * elemSize;

  if (r.has(t, TensorSlot.sparsity)) throw new UnsupportedModelError(`${path}.sparsity`, "sparse tensors are not supported");
  if (r.u32(t, TensorSlot.externalBuffer) !== 0) {
    throw new UnsupportedModelError(`${path}.external_buffer`, "tensors with external buffers are not supported");
  }
  const isVariable = r.bool(t, TensorSlot.isVariable);

  const bufferIndex = r.u32(t, TensorSlot.buffer);
  let data: Uint8Array | null = null;
  if (bufferIndex !== 0 || buffers.length > 0) {
    if (bufferIndex >= buffers.length) {
      throw new ModelFormatError(`${path}.buffer`, `buffer index ${bufferIndex} out of range (${buffers.length} buffers)`);
    }
    // Buffer 0 is the empty sentinel by convention: it never carries tensor data.
    if (bufferIndex !== 0) data = buffers[bufferIndex].data;
  }
  if (data && data.length !== byteLength) {
    throw new ModelFormatError(`${path}.buffer`,
      `buffer ${bufferIndex} holds ${data.length} bytes but shape [${shape.join(",")}] of ${tensorTypeName(type)} needs ${byteLength}`);
  }

  const qt = r.child(t, TensorSlot.quantization, `${path}.quantization`);
  const quantization = qt ? readQuantization(r, qt, `${path}.quantization`, shape) : null;
  return { index, name, type, shape, data, quantization, isVariable, byteLength };
}

function readQuantization(r: FbReader, q: Table, path: string, shape: number[]): Quantization | null {
  if (r.u8(q, QuantSlot.detailsType) !== 0) {
    throw new UnsupportedModelError(`${path}.details`, "custom quantization is not supported");
  }
  const scale = r.float32s(q, QuantSlot.scale, `${path}.scale`) ?? [];
  if (scale.length === 0) return null; // min/max only, or an empty table: not quantized
  const zp64 = r.int64s(q, QuantSlot.zeroPoint, `${path}.zero_point`) ?? [];
  const quantizedDimension = r.i32(q, QuantSlot.quantizedDimension);
  scale.forEach((s, k) => {
    if (!Number.isFinite(s) || s < 0) throw new ModelFormatError(`${path}.scale[${k}]`, `invalid scale ${s}`);
  });
  if (zp64.length !== scale.length && zp64.length !== 1) {
    throw new ModelFormatError(`${path}.zero_point`, `${zp64.length} zero points for ${scale.length} scales (need ${scale.length} or 1)`);
  }
  const zeroPoint = zp64.map((z, k) => {
    if (z < -(2n ** 31n) || z >= 2n ** 31n) throw new ModelFormatError(`${path}.zero_point[${k}]`, `zero point ${z} out of int32 range`);
    return Number(z);
  });
  if (quantizedDimension < 0) {
    throw new ModelFormatError(`${path}.quantized_dimension`, `negative quantized_dimension ${quantizedDimension}`);
  }
  if (scale.length > 1) {
    if (quantizedDimension < shape.length) {
      const dim = shape[quantizedDimension];
      if (dim !== scale.length) {
        throw new ModelFormatError(`${path}.scale`,
          `${scale.length} per-channel scales but dimension ${quantizedDimension} of shape [${shape.join(",")}] has ${dim} channels`);
      }
    } else if (!(shape.length === 1 && shape[0] === scale.length)) {
      // TFLM tolerates a rank-1 bias whose quantized_dimension was copied from the weights
      // (person_detect: 3 on a [C] bias); anything else out of range is an error.
      throw new ModelFormatError(`${path}.quantized_dimension`,
        `quantized_dimension ${quantizedDimension} out of range for shape [${shape.join(",")}]`);
    }
  }
  return { scale, zeroPoint, quantizedDimension };
}

function readIndexList(r: FbReader, t: Table, slot: number, path: string, n: number, allowOmitted: boolean): number[] {
  const list = r.int32s(t, slot, path) ?? [];
  list.forEach((idx, k) => {
    if (idx === -1 && allowOmitted) return;
    if (idx < 0 || idx >= n) throw new ModelFormatError(`${path}[${k}]`, `tensor index ${idx} out of range (${n} tensors)`);
  });
  return list;
}

function checkUnique(list: number[], path: string): void {
  const seen = new Set<number>();
  list.forEach((idx, k) => {
    if (seen.has(idx)) throw new ModelFormatError(`${path}[${k}]`, `tensor ${idx} is listed twice`);
    seen.add(idx);
  });
}

function readOperator(r: FbReader, t: Table, index: number, opcodes: OpCode[], n: number): Operator {
  const path = `${SG}.operators[${index}]`;
  const opcodeIndex = r.u32(t, OperatorSlot.opcodeIndex);
  if (opcodeIndex >= opcodes.length) {
    throw new ModelFormatError(`${path}.opcode_index`, `opcode index ${opcodeIndex} out of range (${opcodes.length} operator codes)`);
  }
  const oc = opcodes[opcodeIndex];
  if (oc.code === CUSTOM_OPCODE) {
    throw new UnsupportedModelError(path, `custom operator ${JSON.stringify(oc.customCode ?? "")} is not supported`);
  }
  const inputs = readIndexList(r, t, OperatorSlot.inputs, `${path}.inputs`, n, true);
  const outputs = readIndexList(r, t, OperatorSlot.outputs, `${path}.outputs`, n, false);
  const intermediates = readIndexList(r, t, OperatorSlot.intermediates, `${path}.intermediates`, n, false);
  const options = parseBuiltinOptions(r, t, OperatorSlot.builtinOptionsType, OperatorSlot.builtinOptions, oc.code, path);
  return { index, opcode: oc.code, opName: opName(oc.code), version: oc.version, inputs, outputs, intermediates, options };
}

/**
 * Operators run in list order: each non-constant, non-variable input must be a graph input or
 * the output of an earlier operator, and each tensor is written at most once.
 */
function checkDataflow(tensors: Tensor[], operators: Operator[], inputs: number[], outputs: number[]): void {
  const NOT_PRODUCED = -1, GRAPH_INPUT = -2, CONSTANT = -3, VARIABLE = -4;
  const producer = new Int32Array(tensors.length).fill(NOT_PRODUCED);
  for (const t of tensors) {
    if (t.data) producer[t.index] = CONSTANT;
    else if (t.isVariable) producer[t.index] = VARIABLE;
  }
  for (const i of inputs) producer[i] = GRAPH_INPUT;
  const describe = (i: number) => `tensor ${i}${tensors[i].name ? ` (${JSON.stringify(tensors[i].name)})` : ""}`;
  const variableWrites = new Int32Array(tensors.length).fill(-1);

  for (const op of operators) {
    const path = `${SG}.operators[${op.index}]`;
    op.inputs.forEach((idx, k) => {
      if (idx !== -1 && producer[idx] === NOT_PRODUCED) {
        throw new ModelFormatError(`${path}.inputs[${k}]`,
          `${describe(idx)} is used before it is produced (not a graph input, constant or variable, and no earlier operator writes it)`);
      }
    });
    op.outputs.forEach((idx, k) => {
      const p = producer[idx];
      const where = `${path}.outputs[${k}]`;
      if (p === CONSTANT) throw new ModelFormatError(where, `${describe(idx)} is constant and cannot be an operator output`);
      if (p === GRAPH_INPUT) throw new ModelFormatError(where, `${describe(idx)} is a graph input and cannot be an operator output`);
      if (p === VARIABLE) {
        if (variableWrites[idx] >= 0) {
          throw new ModelFormatError(where, `variable ${describe(idx)} is written twice (also by operators[${variableWrites[idx]}])`);
        }
        variableWrites[idx] = op.index;
        return;
      }
      if (p >= 0) throw new ModelFormatError(where, `${describe(idx)} is produced twice (also by operators[${p}])`);
      producer[idx] = op.index;
    });
  }
  outputs.forEach((idx, k) => {
    if (producer[idx] === NOT_PRODUCED) {
      throw new ModelFormatError(`${SG}.outputs[${k}]`, `${describe(idx)} is never produced`);
    }
  });
}
