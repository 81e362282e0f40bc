// Operator table: builtin op code -> prepare step. Each op lives in its own file.
import { BuiltinOp } from "../../model/types.js";
import type { OpPrepare } from "./types.js";
import { prepareConv2d } from "./conv2d.js";
import { prepareDepthwiseConv2d } from "./depthwise_conv2d.js";
import { prepareFullyConnected } from "./fully_connected.js";
import { prepareAveragePool2d, prepareMaxPool2d } from "./pooling.js";
import { prepareAdd, prepareMul } from "./elementwise.js";
import { prepareQuantize, prepareDequantize } from "./quantize.js";
import { prepareSoftmax } from "./softmax.js";
import { prepareLogistic, prepareTanh } from "./activations.js";
import { prepareLstm } from "./lstm.js";
import { prepareReshape } from "./reshape.js";

export interface OpSupport {
  prepare: OpPrepare;
  /** Highest op version qedge runs (TFLite op versions; higher ones may change semantics). */
  maxVersion: number;
}

export const OP_TABLE: ReadonlyMap<number, OpSupport> = new Map<number, OpSupport>([
  [BuiltinOp.CONV_2D, { prepare: prepareConv2d, maxVersion: 3 }],
  [BuiltinOp.DEPTHWISE_CONV_2D, { prepare: prepareDepthwiseConv2d, maxVersion: 3 }],
  [BuiltinOp.FULLY_CONNECTED, { prepare: prepareFullyConnected, maxVersion: 5 }],
  [BuiltinOp.AVERAGE_POOL_2D, { prepare: prepareAveragePool2d, maxVersion: 2 }],
  [BuiltinOp.MAX_POOL_2D, { prepare: prepareMaxPool2d, maxVersion: 2 }],
  [BuiltinOp.ADD, { prepare: prepareAdd, maxVersion: 2 }],
  [BuiltinOp.MUL, { prepare: prepareMul, maxVersion: 2 }],
  [BuiltinOp.RESHAPE, { prepare: prepareReshape, maxVersion: 1 }],
  [BuiltinOp.SOFTMAX, { prepare: prepareSoftmax, maxVersion: 2 }],
  [BuiltinOp.LOGISTIC, { prepare: prepareLogistic, maxVersion: 2 }],
  [BuiltinOp.TANH, { prepare: prepareTanh, maxVersion: 2 }],
  [BuiltinOp.QUANTIZE, { prepare: prepareQuantize, maxVersion: 2 }],
  [BuiltinOp.DEQUANTIZE, { prepare: prepareDequantize, maxVersion: 2 }],
  [BuiltinOp.UNIDIRECTIONAL_SEQUENCE_LSTM, { prepare: prepareLstm, maxVersion: 1 }],
]);
