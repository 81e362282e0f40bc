// Shared builders for the CONV_2D / DEPTHWISE_CONV_2D tests: random specs, and the conversion of
// a reference spec into the tensors and options the host prepare reads.
import { Activation, BuiltinOp, Padding, TensorType } from "../../host/model/types.js";
import { randI8, randInt } from "../helpers/kernel-harness.js";
import type { ActivationKind, ConvSpec, PaddingKind } from "../reference/conv.js";
import { tensor, type OpUnderTest } from "./op-harness.js";

export interface CaseShape {
  kind: "conv" | "dw";
  n?: number; h: number; w: number; ic: number;
  oc?: number; mult?: number;
  kh: number; kw: number;
  stride?: [number, number]; dilation?: [number, number];
  padding?: PaddingKind; act?: ActivationKind;
  inZp?: number; outZp?: number;
  /** Multiplier magnitude: in_scale * w_scale / out_scale lands around 2^-log2Real. */
  log2Real?: number;
  /** Spread of log2 of the per-channel multipliers around log2Real (default 1). */
  jitter?: number;
  noBias?: boolean;
  perTensorWeights?: boolean;
  biasRange?: number;
  /** Activations drawn from [inZp - xRange, inZp + xRange] (clipped to int8); default full int8. */
  xRange?: number;
  /** Weights drawn from [-wRange, wRange]; default 127. */
  wRange?: number;
}

export function makeSpec(r: () => number, c: CaseShape): ConvSpec {
  const n = c.n ?? 1;
  const oc = c.kind === "conv" ? c.oc! : c.ic * (c.mult ?? 1);
  const filterShape: [number, number, number, number] = c.kind === "conv"
    ? [oc, c.kh, c.kw, c.ic] : [1, c.kh, c.kw, oc];
  const fanIn = c.kind === "conv" ? c.kh * c.kw * c.ic : c.kh * c.kw;
  const inScale = 0.02 + r() * 0.05;
  const inZp = c.inZp ?? randInt(r, -128, 127);
  const xr = c.xRange ?? 255, wr = c.wRange ?? 127;
  const biasRange = c.biasRange ?? fanIn * 2000;
  // By default choose the multipliers so that typical accumulators (sum of fanIn products of
  // spread ~ xr/2 * wr/2, plus the bias) land mostly inside the int8 range.
  const accSpread = Math.sqrt(fanIn) * Math.min(xr, 128) * wr * 0.4 + biasRange * 0.6;
  const log2Real = c.log2Real ?? Math.log2(accSpread / 60);
  const outScale = 0.05 + r() * 0.1;
  const nScales = c.perTensorWeights ? 1 : oc;
  const wScales = Array.from({ length: nScales }, () => (outScale / inScale) * 2 ** -(log2Real + (c.jitter ?? 1) * (r() - 0.5)));
  return {
    input: randI8(r, n * c.h * c.w * c.ic, Math.max(-128, inZp - xr), Math.min(127, inZp + xr)),
    inShape: [n, c.h, c.w, c.ic],
    inScale,
    inZp,
    filter: randI8(r, filterShape.reduce((a, b) => a * b, 1), -wr, wr),
    filterShape,
    wScales,
    bias: c.noBias ? null : Int32Array.from({ length: oc }, () => randInt(r, -biasRange, biasRange)),
    outScale,
    outZp: c.outZp ?? randInt(r, -128, 127),
    padding: c.padding ?? "SAME",
    strideH: c.stride?.[0] ?? 1,
    strideW: c.stride?.[1] ?? 1,
    dilationH: c.dilation?.[0] ?? 1,
    dilationW: c.dilation?.[1] ?? 1,
    act: c.act ?? "NONE",
  };
}

const ACT = { NONE: Activation.NONE, RELU: Activation.RELU, RELU6: Activation.RELU6, RELU_N1_TO_1: Activation.RELU_N1_TO_1 };

/** The operator (tensors + options) the host prepare sees for a spec. */
export function opFor(kind: "conv" | "dw", s: ConvSpec, outShape: number[]): OpUnderTest {
  const oc = kind === "conv" ? s.filterShape[0] : s.filterShape[3];
  const input = tensor(s.inShape, TensorType.INT8, { data: s.input, scale: [s.inScale], zeroPoint: [s.inZp] });
  const filter = tensor(s.filterShape, TensorType.INT8, {
    data: s.filter, scale: s.wScales, quantizedDimension: kind === "conv" ? 0 : 3,
  });
  const bias = s.bias
    ? tensor([oc], TensorType.INT32, {
      data: s.bias, scale: s.wScales.map((w) => w * s.inScale),
      // person_detect's depthwise biases carry quantized_dimension 3 on a rank-1 tensor.
      quantizedDimension: kind === "conv" ? 0 : 3,
    })
    : null;
  const output = tensor(outShape, TensorType.INT8, { scale: [s.outScale], zeroPoint: [s.outZp] });
  const options: Record<string, number> = {
    padding: s.padding === "SAME" ? Padding.SAME : Padding.VALID,
    strideH: s.strideH, strideW: s.strideW,
    dilationHFactor: s.dilationH, dilationWFactor: s.dilationW,
    fusedActivationFunction: ACT[s.act],
  };
  if (kind === "dw") options.depthMultiplier = oc / s.inShape[3];
  return {
    opcode: kind === "conv" ? BuiltinOp.CONV_2D : BuiltinOp.DEPTHWISE_CONV_2D,
    opName: kind === "conv" ? "CONV_2D" : "DEPTHWISE_CONV_2D",
    inputs: [input, filter, bias],
    outputs: [output],
    options,
  };
}

/** First index where two arrays differ, or -1. */
export function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
