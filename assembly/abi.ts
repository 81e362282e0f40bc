// The kernel ABI shared by the AssemblyScript kernels and the TypeScript host.
// This file is valid TypeScript and valid AssemblyScript: it holds only integer constants.
//
// A compiled graph is a "program": a sequence of op blocks in linear memory, each
//   word 0: op code (one of OP_* below)
//   word 1: number of parameter words that follow (n)
//   words 2 .. 2+n-1: the op's parameters (i32; pointers are byte offsets into linear memory)
// `run(program, count)` executes `count` consecutive blocks. Each op's parameter layout is
// documented at the top of its kernel file (assembly/kernels/<op>.ts) and mirrored by its
// host-side prepare (host/runtime/ops/<op>.ts).

export const OP_HEADER_WORDS = 2;

export const OP_COPY = 1;
export const OP_CONV_2D = 2;
export const OP_DEPTHWISE_CONV_2D = 3;
export const OP_FULLY_CONNECTED = 4;
export const OP_AVERAGE_POOL_2D = 5;
export const OP_MAX_POOL_2D = 6;
export const OP_ADD = 7;
export const OP_MUL = 8;
export const OP_SOFTMAX = 9;
export const OP_LOGISTIC = 10;
export const OP_TANH = 11;
export const OP_QUANTIZE = 12;
export const OP_DEQUANTIZE = 13;
export const OP_LSTM = 14;
export const OP_FILL = 15;
export const OP_COUNT = 16;
