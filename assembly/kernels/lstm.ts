// UNIDIRECTIONAL_SEQUENCE_LSTM, integer "8x8->16" kind (int8 input / hidden state / output,
// int8 weights, int32 gate biases, int16 gates and cell state), exactly as TFLite Micro's
// reference LSTM (lstm_eval.h) evaluates it: no peephole, projection, layer norm or CIFG.
//
// One step for batch b at time t (all int16 gate math in Q3.12 in, Q0.15 out):
//   gate = act(sat16(sat16(FC(x_t)) + sat16(FC(h))))      forget, input, cell gates
//   c    = sat16(sat16(f * c) + sat16(i * g)), then clip    (the cell state, in place)
//   o    = sigmoid(...) like the others, from the same h
//   h    = sat8(hiddenZp + (tanh(c) * o) rescaled)          (the hidden state, in place)
//   output[b, t] = h
// Each FC is acc = bias' + sum(w * x), requantized by its own (multiplier, shift) to int16.
// The host folds the zero points into bias' (bias - zp * sum(w)), which is exact in int32.
//
// Parameter block (host: host/runtime/ops/lstm.ts):
//   0 input          int8, element (b, t, k) at b*inBatchStride + t*inTimeStride + k
//   1 output         int8, element (b, t, k) at b*outBatchStride + t*outTimeStride + k
//   2 hiddenState    int8 [batches * nState]   (variable tensor, read and written)
//   3 cellState      int16 [batches * nState]  (variable tensor, read and written)
//   4 scratch        4 * nState int16
//   5 batches        6 steps        7 nInput       8 nState
//   9 inBatchStride  10 inTimeStride  11 outBatchStride  12 outTimeStride
//   13 hiddenZp      output zero point of the hidden state
//   14 cellClip      > 0: clamp the cell state to [-cellClip, cellClip]; 0: no clipping
//   15 cellTanhMultiplier, 16 cellTanhShift   int16 tanh input rescale for the cell state
//   17 cellGateSigmoid  1: the cell gate uses sigmoid instead of tanh
//   18/19 forget x cell  -> cell   multiplier, shift
//   20/21 input x cellgate -> cell multiplier, shift
//   22/23 tanh(cell) x output -> hidden multiplier, shift
//   24.. four gates in the order forget, input, cell, output, GATE_WORDS words each:
//     +0 input weights int8 [nState * nInput]   +1 recurrent weights int8 [nState * nState]
//     +2 input bias' int32 [nState]              +3 recurrent bias' int32 [nState]
//     +4/+5 input FC multiplier, shift           +6/+7 recurrent FC multiplier, shift
import { param, multiplyByQuantizedMultiplier, clampI32 } from "../fixedpoint";

const GATES_AT: i32 = 24;
const GATE_WORDS: i32 = 8;
const GATE_FORGET: i32 = 0;
const GATE_INPUT: i32 = 1;
const GATE_CELL: i32 = 2;
const GATE_OUTPUT: i32 = 3;

// sigmoid(x / 2^12) * 2^15 rounded, TFLite's int16 logistic: sigmoid(i/24) table in 0.16 with
// linear interpolation. Same table as TFLite's sigmoid_table_uint16 (256 entries).
const SIGMOID_TABLE: StaticArray<u16> = [
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
  40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
  46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
  52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
  56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
  59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
  61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
  62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
  63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
  64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
  64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
  65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
  65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
  65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
  65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
  65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
  65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
  65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
  65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
  65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
  65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
  65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
  65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
  65534, 65534, 65535,
];

// @ts-ignore: decorator
@inline
function sat16(x: i32): i32 {
  return clampI32(x, -32768, 32767);
}

// TFLite int16 LOGISTIC for a Q3.12 gate with the fixed input multiplier 3: the table index
// steps by 2^9 of 3x, i.e. by 1/24 in real terms. Result in Q0.15.
// @ts-ignore: decorator
@inline
export function sigmoidQ3_12(x: i32): i32 {
  const scaled: i32 = x * 3;
  const absScaled: u32 = <u32>(scaled < 0 ? -scaled : scaled);
  const uh: u32 = absScaled >> 9;
  let result: u32;
  if (uh >= 255) {
    result = 0x7fff << 10;
  } else {
    const ua = <u32>unchecked(SIGMOID_TABLE[uh]);
    const ub = <u32>unchecked(SIGMOID_TABLE[uh + 1]);
    result = (ua << 9) + (absScaled & 0x1ff) * (ub - ua);
  }
  result = scaled >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1;
  return <i32><i16>(result >> 10);
}

// TFLite int16 TANH: input rescaled by (x * multiplier + round) >> shift, then
// tanh(y) = 2 * sigmoid(2y) - 1 from the same table with 8 fractional bits. Result in Q0.15.
// @ts-ignore: decorator
@inline
export function tanhInt16(x: i32, multiplier: i32, shift: i32): i32 {
  const round: i32 = shift > 0 ? 1 << (shift - 1) : 0;
  const y: i32 = (x * multiplier + round) >> shift;
  const absY: u32 = <u32>(y < 0 ? -y : y);
  const uh: u32 = absY >> 8;
  let result: i32;
  if (uh >= 255) {
    result = 0xffff << 8;
  } else {
    const ua = <u32>unchecked(SIGMOID_TABLE[uh]);
    const ub = <u32>unchecked(SIGMOID_TABLE[uh + 1]);
    result = <i32>((ua << 8) + (absY & 0xff) * (ub - ua));
  }
  result = y >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
  return <i32><i16>(result >> 8);
}

// One gate for one (batch, time) position: FC(x) and FC(h) to int16, saturating add, activation.
function gate(p: usize, g: i32, x: usize, h: usize, nInput: i32, nState: i32, out: usize, act: i32,
  tanhMultiplier: i32, tanhShift: i32): void {
  const base = GATES_AT + g * GATE_WORDS;
  const wIn = <usize>param(p, base);
  const wRec = <usize>param(p, base + 1);
  const biasIn = <usize>param(p, base + 2);
  const biasRec = <usize>param(p, base + 3);
  const mIn = param(p, base + 4);
  const sIn = param(p, base + 5);
  const mRec = param(p, base + 6);
  const sRec = param(p, base + 7);
  for (let i = 0; i < nState; i++) {
    let accIn: i32 = load<i32>(biasIn + (<usize>i << 2));
    const rowIn = wIn + <usize>(i * nInput);
    for (let k = 0; k < nInput; k++) {
      accIn += <i32>load<i8>(rowIn + <usize>k) * <i32>load<i8>(x + <usize>k);
    }
    let accRec: i32 = load<i32>(biasRec + (<usize>i << 2));
    const rowRec = wRec + <usize>(i * nState);
    for (let k = 0; k < nState; k++) {
      accRec += <i32>load<i8>(rowRec + <usize>k) * <i32>load<i8>(h + <usize>k);
    }
    const pre = sat16(sat16(multiplyByQuantizedMultiplier(accIn, mIn, sIn)) +
      sat16(multiplyByQuantizedMultiplier(accRec, mRec, sRec)));
    // act 0: sigmoid; 1: tanh with the gate's own Q3.12 scale (multiplier 3, no shift).
    const y = act == 0 ? sigmoidQ3_12(pre) : tanhInt16(pre, tanhMultiplier, tanhShift);
    store<i16>(out + (<usize>i << 1), <i16>y);
  }
}

export function lstm(p: usize): void {
  const input = <usize>param(p, 0);
  const output = <usize>param(p, 1);
  const hiddenState = <usize>param(p, 2);
  const cellState = <usize>param(p, 3);
  const scratch = <usize>param(p, 4);
  const batches = param(p, 5);
  const steps = param(p, 6);
  const nInput = param(p, 7);
  const nState = param(p, 8);
  const inBatchStride = param(p, 9);
  const inTimeStride = param(p, 10);
  const outBatchStride = param(p, 11);
  const outTimeStride = param(p, 12);
  const hiddenZp = param(p, 13);
  const cellClip = param(p, 14);
  const cellTanhMultiplier = param(p, 15);
  const cellTanhShift = param(p, 16);
  const cellGateAct = param(p, 17) != 0 ? 0 : 1;
  const mForgetCell = param(p, 18);
  const sForgetCell = param(p, 19);
  const mInputCell = param(p, 20);
  const sInputCell = param(p, 21);
  const mHidden = param(p, 22);
  const sHidden = param(p, 23);

  const bytes = <usize>nState << 1;
  const forgetGate = scratch;
  const inputGate = scratch + bytes;
  const cellGate = scratch + 2 * bytes;
  const outputGate = scratch + 3 * bytes;

  for (let b = 0; b < batches; b++) {
    const h = hiddenState + <usize>(b * nState);
    const c = cellState + (<usize>(b * nState) << 1);
    for (let t = 0; t < steps; t++) {
      const x = input + <usize>(b * inBatchStride + t * inTimeStride);
      gate(p, GATE_FORGET, x, h, nInput, nState, forgetGate, 0, 0, 0);
      gate(p, GATE_INPUT, x, h, nInput, nState, inputGate, 0, 0, 0);
      // The cell gate's input is Q3.12 as well: tanh with multiplier 3, no shift.
      gate(p, GATE_CELL, x, h, nInput, nState, cellGate, cellGateAct, 3, 0);

      for (let i = 0; i < nState; i++) {
        const o = <usize>i << 1;
        const ci = <i32>load<i16>(c + o);
        const kept = sat16(multiplyByQuantizedMultiplier(<i32>load<i16>(forgetGate + o) * ci, mForgetCell, sForgetCell));
        const added = sat16(multiplyByQuantizedMultiplier(
          <i32>load<i16>(inputGate + o) * <i32>load<i16>(cellGate + o), mInputCell, sInputCell));
        let next = sat16(kept + added);
        if (cellClip > 0) next = clampI32(next, -cellClip, cellClip);
        store<i16>(c + o, <i16>next);
      }

      gate(p, GATE_OUTPUT, x, h, nInput, nState, outputGate, 0, 0, 0);

      const out = output + <usize>(b * outBatchStride + t * outTimeStride);
      for (let i = 0; i < nState; i++) {
        const o = <usize>i << 1;
        const tanhC = tanhInt16(<i32>load<i16>(c + o), cellTanhMultiplier, cellTanhShift);
        const hv = clampI32(hiddenZp + multiplyByQuantizedMultiplier(tanhC * <i32>load<i16>(outputGate + o), mHidden, sHidden),
          -128, 127);
        store<i8>(h + <usize>i, <i8>hv);
        store<i8>(out + <usize>i, <i8>hv);
      }
    }
  }
}
