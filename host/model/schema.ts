// Facts about the TFLite flatbuffer schema (version 3) that the reader and writer share:
// vtable slots of the tables qedge reads, enum names, element sizes.
// Slot numbers are the field order in schema.fbs (deprecated fields keep their slot);
// a union occupies two slots, the ubyte tag first.

export const FILE_IDENTIFIER = "TFL3";
export const SCHEMA_VERSION = 3;

export const ModelSlot = {
  version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4,
  metadataBuffer: 5, metadata: 6, signatureDefs: 7, externalBufferGroups: 8, externalBuffers: 9,
} as const;

export const SubGraphSlot = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;

export const TensorSlot = {
  shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6,
  shapeSignature: 7, hasRank: 8, variantTensors: 9, externalBuffer: 10,
} as const;

export const QuantSlot = {
  min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, details: 5, quantizedDimension: 6,
} as const;

export const BufferSlot = { data: 0, offset: 1, size: 2 } as const;

export const MetadataSlot = { name: 0, buffer: 1 } as const;

export const OperatorCodeSlot = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;

export const OperatorSlot = {
  opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4,
  customOptions: 5, customOptionsFormat: 6, mutatingVariableInputs: 7, intermediates: 8,
  largeCustomOptionsOffset: 9, largeCustomOptionsSize: 10, builtinOptions2Type: 11, builtinOptions2: 12,
} as const;

/** BuiltinOperator.CUSTOM: the op is named by OperatorCode.custom_code instead. */
export const CUSTOM_OPCODE = 32;
/** deprecated_builtin_code value meaning "the real code is in builtin_code". */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/** TensorType names, indexed by code. */
export const TENSOR_TYPE_NAMES: readonly string[] = [
  "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
  "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4", "BFLOAT16",
  "INT2", "UINT4", "FLOAT8_E4M3FN", "FLOAT8_E5M2",
];

/**
 * Bytes per element by TensorType code; 0 where a tensor cannot be sized as product(shape) *
 * element size (STRING, RESOURCE, VARIANT, and the packed sub-byte types INT4/INT2/UINT4).
 */
export const ELEMENT_SIZE: readonly number[] = [
  4, 2, 4, 1, 8, 0, 1, 2, 8, 1,
  8, 16, 8, 0, 0, 4, 2, 0, 2,
  0, 0, 1, 1,
];

export function tensorTypeName(code: number): string {
  return TENSOR_TYPE_NAMES[code] ?? `TYPE_${code}`;
}

/** BuiltinOperator names, indexed by code (schema.fbs; gaps are codes the schema never used). */
const OP_NAME_LIST = [
  "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
  "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
  "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
  "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN",
  "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
  "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
  "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
  "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
  "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG",
  "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
  "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
  "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
  "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
  "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
  "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
  "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
  "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
  "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
  "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
  "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
  "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
  "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
  "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
  "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR",
  "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
  "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
  "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL",
  "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
  "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
  "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
  "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
  "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
  "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
  "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
  "REDUCE_WINDOW",
] as const;

const OP_NAMES = new Map<number, string>(OP_NAME_LIST.map((n, i) => [i, n]));
OP_NAMES.set(225, "TEMP_STREAMING_CONV_2D");

/** Human name of a builtin operator code, e.g. 3 -> "CONV_2D"; unknown codes -> "BUILTIN_<n>". */
export function opName(code: number): string {
  return OP_NAMES.get(code) ?? `BUILTIN_${code}`;
}

/** Code of a builtin operator name (the inverse of opName), or undefined. */
export function opCodeByName(name: string): number | undefined {
  for (const [code, n] of OP_NAMES) if (n === name) return code;
  return undefined;
}
