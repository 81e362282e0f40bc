// Plain TypeScript reference for int8 CONV_2D and DEPTHWISE_CONV_2D, written straight from the
// rules in ../shared/notes/int8-arithmetic.md (TFLite Micro reference kernels, double rounding).
// Deliberately naive: nested loops over the definition, BigInt for the 64-bit product. It shares
// no code with the host prepare or the kernels.

import { srdhm, rdpot, mbqm } from "./gemmlowp.js";
import { quantizeMultiplierPair, activationRange } from "./tflite-quant.js";

export type PaddingKind = "SAME" | "VALID";
export type ActivationKind = "NONE" | "RELU" | "RELU6" | "RELU_N1_TO_1";

export interface ConvSpec {
  input: Int8Array;
  inShape: [number, number, number, number]; // N, H, W, C
  inScale: number;
  inZp: number;
  /** CONV_2D: OHWI [OC, KH, KW, IC]. DEPTHWISE: [1, KH, KW, IC * multiplier]. */
  filter: Int8Array;
  filterShape: [number, number, number, number];
  /** One scale per output channel, or a single scale for all. */
  wScales: number[];
  bias: Int32Array | null;
  outScale: number;
  outZp: number;
  padding: PaddingKind;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  act: ActivationKind;
}

export interface ConvResult {
  data: Int8Array;
  shape: [number, number, number, number];
}


/** Wrap to int32 like a C int32 accumulator does on every target we care about. */
const wrap32 = (x: number): number => x | 0;

export const refQuantizeMultiplier = quantizeMultiplierPair;
export const refSaturatingRoundingDoublingHighMul = srdhm;
export const refRoundingDivideByPOT = rdpot;
export const refMultiplyByQuantizedMultiplier = mbqm;

const ACTIVATION_CODES: Record<ActivationKind, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 };
/** CalculateActivationRangeQuantized for int8 (float32 division, round half away). */
export function refActivationRange(act: ActivationKind, scale: number, zp: number): [number, number] {
  return activationRange(ACTIVATION_CODES[act], scale, zp);
}

function outAndPad(padding: PaddingKind, inSize: number, k: number, stride: number, dil: number): [number, number] {
  const eff = (k - 1) * dil + 1;
  if (padding === "VALID") return [Math.floor((inSize - eff) / stride) + 1, 0];
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  return [out, Math.floor(total / 2)];
}

function channelScale(s: ConvSpec, c: number): number {
  return s.wScales.length === 1 ? s.wScales[0] : s.wScales[c];
}

function finish(s: ConvSpec, acc: number, c: number, lo: number, hi: number): number {
  const [m, sh] = refQuantizeMultiplier((s.inScale * channelScale(s, c)) / s.outScale);
  // int32 arithmetic as in TFLM's C code: adding the zero point wraps around.
  const v = wrap32(refMultiplyByQuantizedMultiplier(acc, m, sh) + s.outZp);
  return Math.min(hi, Math.max(lo, v));
}

export function referenceConv2d(s: ConvSpec): ConvResult {
  const [N, H, W, IC] = s.inShape;
  const [OC, KH, KW, FIC] = s.filterShape;
  if (FIC !== IC) throw new Error("channel mismatch");
  const [OH, padT] = outAndPad(s.padding, H, KH, s.strideH, s.dilationH);
  const [OW, padL] = outAndPad(s.padding, W, KW, s.strideW, s.dilationW);
  const [lo, hi] = refActivationRange(s.act, s.outScale, s.outZp);
  const out = new Int8Array(N * OH * OW * OC);
  for (let b = 0; b < N; b++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    for (let oc = 0; oc < OC; oc++) {
      let acc = 0;
      for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
        const iy = oy * s.strideH - padT + ky * s.dilationH;
        const ix = ox * s.strideW - padL + kx * s.dilationW;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // padding adds nothing
        for (let ic = 0; ic < IC; ic++) {
          const x = s.input[((b * H + iy) * W + ix) * IC + ic];
          const w = s.filter[((oc * KH + ky) * KW + kx) * IC + ic];
          acc = wrap32(acc + (x - s.inZp) * w);
        }
      }
      if (s.bias) acc = wrap32(acc + s.bias[oc]);
      out[((b * OH + oy) * OW + ox) * OC + oc] = finish(s, acc, oc, lo, hi);
    }
  }
  return { data: out, shape: [N, OH, OW, OC] };
}

export function referenceDepthwiseConv2d(s: ConvSpec): ConvResult {
  const [N, H, W, IC] = s.inShape;
  const [, KH, KW, OC] = s.filterShape;
  const mult = OC / IC;
  if (!Number.isInteger(mult)) throw new Error("channel mismatch");
  const [OH, padT] = outAndPad(s.padding, H, KH, s.strideH, s.dilationH);
  const [OW, padL] = outAndPad(s.padding, W, KW, s.strideW, s.dilationW);
  const [lo, hi] = refActivationRange(s.act, s.outScale, s.outZp);
  const out = new Int8Array(N * OH * OW * OC);
  for (let b = 0; b < N; b++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    for (let ic = 0; ic < IC; ic++) for (let m = 0; m < mult; m++) {
      const oc = ic * mult + m;
      let acc = 0;
      for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
        const iy = oy * s.strideH - padT + ky * s.dilationH;
        const ix = ox * s.strideW - padL + kx * s.dilationW;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        const x = s.input[((b * H + iy) * W + ix) * IC + ic];
        const w = s.filter[(ky * KW + kx) * OC + oc];
        acc = wrap32(acc + (x - s.inZp) * w);
      }
      if (s.bias) acc = wrap32(acc + s.bias[oc]);
      out[((b * OH + oy) * OW + ox) * OC + oc] = finish(s, acc, oc, lo, hi);
    }
  }
  return { data: out, shape: [N, OH, OW, OC] };
}
