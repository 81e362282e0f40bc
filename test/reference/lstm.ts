// Test reference: TFLite Micro's integer (8x8->16) UNIDIRECTIONAL_SEQUENCE_LSTM, written the
// plain way: every FC applies the zero-point offsets to its inputs (no folding), parameters are
// derived from the float scales here, int16 sigmoid / tanh are TFLite's table interpolation.
import { mbqm, clamp } from "./gemmlowp.js";
import { refQuantizeMultiplier } from "./softmax.js";

/** TFLite's sigmoid_table_uint16: sigmoid(i / 24) in 0.16 (its own rounding; see the test). */
export const SIGMOID_TABLE_U16: readonly number[] = [
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
  43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
  51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
  57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
  61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
  63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
  64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
  64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
  65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
  65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
  65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
  65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
  65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
  65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
  65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
  65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

const toI16 = (x: number): number => ((x & 0xffff) << 16) >> 16;

/** TFLite int16 LOGISTIC (reference_integer_ops::Logistic, int16 overload). */
export function refLogisticInt16(x: number, multiplier: number, leftShift: number): number {
  let m = multiplier;
  let s = leftShift;
  if (m === 0) { m = 3 * 2 ** s; s = 0; }
  const round = s > 0 ? 2 ** (s - 1) : 0;
  const v = Math.floor((x * m + round) / 2 ** s);
  const a = Math.abs(v);
  const idx = Math.floor(a / 512);
  let r: number;
  if (idx >= 255) r = 0x7fff * 1024;
  else r = SIGMOID_TABLE_U16[idx] * 512 + (a % 512) * (SIGMOID_TABLE_U16[idx + 1] - SIGMOID_TABLE_U16[idx]);
  r = v >= 0 ? r + 512 : 2 ** 25 - r + 511;
  return toI16(Math.floor(r / 1024));
}

/** TFLite int16 TANH (reference_integer_ops::Tanh, int16 overload). */
export function refTanhInt16(x: number, multiplier: number, leftShift: number): number {
  let m = multiplier;
  let s = leftShift;
  if (m === 0) { m = 3 * 2 ** s; s = 0; }
  const round = s > 0 ? 2 ** (s - 1) : 0;
  const v = Math.floor((x * m + round) / 2 ** s);
  const a = Math.abs(v);
  const idx = Math.floor(a / 256);
  let r: number;
  if (idx >= 255) r = 0xffff * 256;
  else r = SIGMOID_TABLE_U16[idx] * 256 + (a % 256) * (SIGMOID_TABLE_U16[idx + 1] - SIGMOID_TABLE_U16[idx]);
  r = v >= 0 ? r - 2 ** 23 + 128 : -r + 2 ** 23 + 127;
  return toI16(Math.floor(r / 256));
}

/** TFLM lstm_internal::Tanh for a cell state of scale 2^power. */
export function refCellTanh(x: number, power: number): number {
  let shift = 15 + power - 3;
  let mult = 0;
  if (shift < 0) { shift = -shift; mult = 3; }
  return refTanhInt16(x, mult, shift);
}

export interface GateSpec {
  w: Int8Array; wScale: number; // [nState, nInput]
  r: Int8Array; rScale: number; // [nState, nState]
  bias: Int32Array;             // [nState]
}

export interface LstmSpec {
  batches: number; steps: number; nInput: number; nState: number; timeMajor: boolean;
  inScale: number; inZp: number;
  hiddenScale: number; hiddenZp: number;
  cellScale: number; // a power of two
  cellClip: number;  // float; 0 = none
  cellGateSigmoid?: boolean;
  forget: GateSpec; input: GateSpec; cell: GateSpec; output: GateSpec;
}

const f32 = Math.fround;

/** Runs the sequence; updates hidden / cell in place and returns the output sequence. */
export function refLstm(spec: LstmSpec, x: Int8Array, hidden: Int8Array, cell: Int16Array): Int8Array {
  const { batches, steps, nInput, nState, timeMajor } = spec;
  const out = new Int8Array(batches * steps * nState);
  const power = Math.round(Math.log2(spec.cellScale));
  const fcMul = (a: number, b: number) => refQuantizeMultiplier(f32(f32(a) * f32(b)) / 2 ** -12);
  const sat16 = (v: number) => clamp(v, -32768, 32767);
  const gates = [spec.forget, spec.input, spec.cell, spec.output].map((g) => ({
    g, inM: fcMul(spec.inScale, g.wScale), recM: fcMul(spec.hiddenScale, g.rScale),
  }));
  const mulFC = refQuantizeMultiplier((2 ** -15 * f32(spec.cellScale)) / f32(spec.cellScale));
  const mulIG = refQuantizeMultiplier((2 ** -15 * 2 ** -15) / f32(spec.cellScale));
  const mulH = refQuantizeMultiplier((2 ** -15 * 2 ** -15) / f32(spec.hiddenScale));
  const qclip = Math.trunc(Math.min(Math.max(f32(spec.cellClip) / f32(spec.cellScale), -32768), 32767));

  const gateOut = (k: number, xs: Int8Array, hs: Int8Array, act: "sigmoid" | "tanh"): number[] => {
    const { g, inM, recM } = gates[k];
    const res: number[] = [];
    for (let i = 0; i < nState; i++) {
      let a = 0;
      for (let j = 0; j < nInput; j++) a = (a + g.w[i * nInput + j] * (xs[j] - spec.inZp)) | 0;
      a = (a + g.bias[i]) | 0;
      let r = 0;
      for (let j = 0; j < nState; j++) r = (r + g.r[i * nState + j] * (hs[j] - spec.hiddenZp)) | 0;
      const pre = sat16(sat16(mbqm(a, inM[0], inM[1])) + sat16(mbqm(r, recM[0], recM[1])));
      res.push(act === "sigmoid" ? refLogisticInt16(pre, 0, 0) : refTanhInt16(pre, 0, 0));
    }
    return res;
  };

  for (let b = 0; b < batches; b++) {
    for (let t = 0; t < steps; t++) {
      const xOff = timeMajor ? (t * batches + b) * nInput : (b * steps + t) * nInput;
      const oOff = timeMajor ? (t * batches + b) * nState : (b * steps + t) * nState;
      const xs = x.subarray(xOff, xOff + nInput);
      const hs = hidden.subarray(b * nState, (b + 1) * nState);
      const cs = cell.subarray(b * nState, (b + 1) * nState);
      const f = gateOut(0, xs, hs, "sigmoid");
      const ig = gateOut(1, xs, hs, "sigmoid");
      const gg = gateOut(2, xs, hs, spec.cellGateSigmoid ? "sigmoid" : "tanh");
      for (let i = 0; i < nState; i++) {
        let c = sat16(mbqm(f[i] * cs[i], mulFC[0], mulFC[1]));
        c = sat16(c + sat16(mbqm(ig[i] * gg[i], mulIG[0], mulIG[1])));
        if (spec.cellClip > 0) c = clamp(c, -qclip, qclip);
        cs[i] = c;
      }
      const o = gateOut(3, xs, hs, "sigmoid");
      for (let i = 0; i < nState; i++) {
        const th = refCellTanh(cs[i], power);
        hs[i] = clamp(spec.hiddenZp + mbqm(th * o[i], mulH[0], mulH[1]), -128, 127);
        out[oOff + i] = hs[i];
      }
    }
  }
  return out;
}
