// The validated, in-memory form of a .tflite model that the rest of the host works with.
// Produced by parseModel() (host/model/reader.ts); everything here has been range-checked.

/** TFLite TensorType enum values (schema.fbs). */
export const TensorType = {
  FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, STRING: 5, BOOL: 6, INT16: 7,
  COMPLEX64: 8, INT8: 9, FLOAT64: 10, COMPLEX128: 11, UINT64: 12, RESOURCE: 13, VARIANT: 14,
  UINT32: 15, UINT16: 16, INT4: 17, BFLOAT16: 18,
} as const;
export type TensorTypeCode = number;

/** Builtin operator codes used by qedge (schema.fbs BuiltinOperator subset). */
export const BuiltinOp = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6, FULLY_CONNECTED: 9, LOGISTIC: 14, MAX_POOL_2D: 17, MUL: 18, RELU: 19,
  RELU6: 21, RESHAPE: 22, SOFTMAX: 25, TANH: 28, PAD: 34, TRANSPOSE: 39, MEAN: 40, SUB: 41,
  UNIDIRECTIONAL_SEQUENCE_LSTM: 44, STRIDED_SLICE: 45, LEAKY_RELU: 98, QUANTIZE: 114,
  HARD_SWISH: 117,
} as const;

/** Fused activation (ActivationFunctionType). */
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;
export const Padding = { SAME: 0, VALID: 1 } as const;

export interface Quantization {
  /** One scale per tensor, or one per channel along quantizedDimension. */
  scale: number[];
  /** As stored: one entry per scale, or a single entry shared by all scales. */
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface Tensor {
  index: number;
  name: string;
  type: TensorTypeCode;
  shape: number[];
  /** Constant data (a view into the model bytes), or null for activations / variables. */
  data: Uint8Array | null;
  quantization: Quantization | null;
  isVariable: boolean;
  /** Bytes the tensor occupies: product(shape) * element size. */
  byteLength: number;
}

export interface Operator {
  index: number;
  /** BuiltinOperator code (max of deprecated_builtin_code and builtin_code). */
  opcode: number;
  /** Human name of the op, e.g. "CONV_2D" (or "CUSTOM:name"). */
  opName: string;
  version: number;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  /**
   * Parsed builtin options, field names in camelCase as in the schema
   * (e.g. { padding, strideW, strideH, fusedActivationFunction, dilationWFactor, ... }),
   * defaults filled in; {} when the op has no options table.
   */
  options: Record<string, number | boolean | number[]>;
}

export interface ModelGraph {
  version: number;
  description: string;
  tensors: Tensor[];
  operators: Operator[];
  inputs: number[];
  outputs: number[];
  /** Size of the model file in bytes. */
  fileBytes: number;
}
