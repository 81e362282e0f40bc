// The kernel module's exported ABI: one entry point runs a program of op blocks (see abi.ts).
// Built three ways from this one source: scalar, simd, relaxed (asconfig.json targets).
import {
  OP_COPY, OP_CONV_2D, OP_DEPTHWISE_CONV_2D, OP_FULLY_CONNECTED, OP_AVERAGE_POOL_2D,
  OP_MAX_POOL_2D, OP_ADD, OP_MUL, OP_SOFTMAX, OP_LOGISTIC, OP_TANH, OP_QUANTIZE,
  OP_DEQUANTIZE, OP_LSTM, OP_FILL, OP_HEADER_WORDS,
} from "./abi";
import { copy, fill } from "./kernels/copy";
import { conv2d } from "./kernels/conv2d";
import { depthwiseConv2d } from "./kernels/depthwise_conv2d";
import { fullyConnected } from "./kernels/fully_connected";
import { averagePool2d, maxPool2d } from "./kernels/pooling";
import { add, mul } from "./kernels/elementwise";
import { softmax } from "./kernels/softmax";
import { logistic, tanh } from "./kernels/activations";
import { quantize, dequantize } from "./kernels/quantize";
import { lstm } from "./kernels/lstm";
import "./abort";

// Execute `count` op blocks starting at `program`. Returns the address after the last block.
export function run(program: usize, count: i32): usize {
  let p = program;
  for (let i = 0; i < count; i++) {
    const op = load<i32>(p);
    const n = load<i32>(p, 4);
    const params = p + (OP_HEADER_WORDS << 2);
    switch (op) {
      case OP_COPY: copy(params); break;
      case OP_FILL: fill(params); break;
      case OP_CONV_2D: conv2d(params); break;
      case OP_DEPTHWISE_CONV_2D: depthwiseConv2d(params); break;
      case OP_FULLY_CONNECTED: fullyConnected(params); break;
      case OP_AVERAGE_POOL_2D: averagePool2d(params); break;
      case OP_MAX_POOL_2D: maxPool2d(params); break;
      case OP_ADD: add(params); break;
      case OP_MUL: mul(params); break;
      case OP_SOFTMAX: softmax(params); break;
      case OP_LOGISTIC: logistic(params); break;
      case OP_TANH: tanh(params); break;
      case OP_QUANTIZE: quantize(params); break;
      case OP_DEQUANTIZE: dequantize(params); break;
      case OP_LSTM: lstm(params); break;
      default: unreachable();
    }
    p = params + (<usize>n << 2);
  }
  return p;
}

// First free byte after the module's static data: the host lays out its regions from here.
export function heapBase(): usize {
  return __heap_base;
}

// Bit 0: built with SIMD; bit 1: built with relaxed SIMD.
export function features(): i32 {
  let f = 0;
  if (ASC_FEATURE_SIMD) f |= 1;
  if (ASC_FEATURE_RELAXED_SIMD) f |= 2;
  return f;
}

// Kernel self-test against golden vectors (traps on a mismatch): see selftest.ts.
export { selftest } from "./selftest";
