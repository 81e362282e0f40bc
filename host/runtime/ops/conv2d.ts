// CONV_2D prepare: validate the int8 operator, build the per-channel requantization table, the
// bias and the packed weights once, and encode the kernel block (assembly/kernels/conv2d.ts).
import { OP_CONV_2D } from "../../../assembly/abi.js";
import type { OpPrepare } from "./types.js";
import {
  accumulatorBounds, activationQuant, biasValues, checkRank4, convGeometry, foldInputZeroPoint, requantTable, roundUp,
  weightScales,
} from "./conv_common.js";

/** Output pixels per SIMD register tile (CONV_ROWS in assembly/kernels/conv2d.ts). */
const CONV_ROWS = 4;
/** Tiles per block of the Winograd path (WG_TILES in assembly/kernels/conv2d_winograd.ts). */
const WINOGRAD_TILES = 4;

/**
 * Packs OHWI int8 weights [OC][K] (K = KH*KW*IC) into the kernel's layout: groups of 8 output
 * channels, each a run of 16-byte blocks [channel 0..7][2 consecutive k], zero-padded to
 * OCp = roundup(OC, 8) channels and K2 = roundup(K, 2).
 */
export function packConvWeights(w: Int8Array, oc: number, k: number): Int8Array {
  const ocp = roundUp(oc, 8), k2 = roundUp(k, 2), kp = k2 / 2;
  const out = new Int8Array(ocp * k2);
  for (let c = 0; c < oc; c++) {
    const base = (c >> 3) * kp * 16 + (c & 7) * 2;
    for (let i = 0; i < k; i++) out[base + (i >> 1) * 16 + (i & 1)] = w[c * k + i];
  }
  return out;
}

/**
 * The direct tiles' weights: each kernel row's run of `run` (KW * IC) taps padded to an even
 * length with a zero weight, then packed like packConvWeights (K' = KH * roundup(run, 2)).
 */
export function directWeights(w: Int8Array, oc: number, kh: number, run: number): Int8Array {
  const rw = roundUp(run, 2), k = kh * run, kd = kh * rw;
  const padded = new Int8Array(oc * kd);
  for (let c = 0; c < oc; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let j = 0; j < run; j++) padded[c * kd + ky * rw + j] = w[c * k + ky * run + j];
    }
  }
  return packConvWeights(padded, oc, kd);
}

/** Rows of G' = 2G, the integer form of Winograd F(2, 3)'s filter transform. */
const G2 = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]];
/** Rows of the 4x4 patch (and columns) that output row (column) 0 and 1 combine: At's support. */
const AT_SUPPORT = [[0, 1, 2], [1, 2, 3]];

/**
 * The filter of a 3x3 stride-1 convolution transformed for Winograd F(2x2, 3x3)
 * (assembly/kernels/conv2d_winograd.ts): U[xi = 4r + s][oc][ic] = (G' g G't)[r][s], packed
 * [xi][group of 8 channels][ic pair][channel 0..7][2 ic] as int16. Returns null when some
 * intermediate of the integer transform could leave int32 for inputs with |x - inZp| <= maxD.
 */
export function winogradWeights(w: Int8Array, OC: number, IC: number, maxD: number): Int16Array | null {
  const OCp = roundUp(OC, 8), G = OCp / 8, KPw = IC / 2;
  const out = new Int16Array(16 * OCp * IC);
  const vMax = 4 * maxD;
  for (let oc = 0; oc < OC; oc++) {
    const absSum = new Float64Array(16);
    for (let ic = 0; ic < IC; ic++) {
      const g = (ky: number, kx: number): number => w[((oc * 3 + ky) * 3 + kx) * IC + ic];
      for (let r = 0; r < 4; r++) {
        for (let s = 0; s < 4; s++) {
          let u = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) u += G2[r][ky] * g(ky, kx) * G2[s][kx];
          const xi = r * 4 + s;
          absSum[xi] += Math.abs(u);
          const q = ic >> 1;
          out[((((xi * G + (oc >> 3)) * KPw + q) * 8 + (oc & 7)) * 2) + (ic & 1)] = u;
        }
      }
    }
    // |4y| <= sum over the 9 transformed positions an output combines of sum |U| * max |V|.
    for (const rows of AT_SUPPORT) {
      for (const cols of AT_SUPPORT) {
        let bound = 0;
        for (const r of rows) for (const s of cols) bound += absSum[r * 4 + s] * vMax;
        if (bound >= 2 ** 31) return null;
      }
    }
  }
  return out;
}

export const prepareConv2d: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const filter = ctx.input(1);
  const bias = ctx.optionalInput(2);
  const output = ctx.output(0);
  const [N, H, W, IC] = checkRank4(ctx, input, "input");
  const [OC, KH, KW, FIC] = checkRank4(ctx, filter, "filter");
  checkRank4(ctx, output, "output");
  ctx.check(FIC === IC, `filter has ${FIC} input channels, the input has ${IC} (grouped convolution is not supported)`);
  const inQ = activationQuant(ctx, input, "input");
  const outQ = activationQuant(ctx, output, "output");
  const wScales = weightScales(ctx, filter, OC, 0, "filter");
  const g = convGeometry(ctx, H, W, KH, KW, outQ.scale, outQ.zeroPoint);
  const expect = [N, g.outH, g.outW, OC];
  ctx.check(output.shape.every((d, i) => d === expect[i]),
    `output shape [${output.shape.join(",")}] should be [${expect.join(",")}]`);
  const K = KH * KW * IC;
  ctx.check(filter.data!.byteLength >= OC * K, `filter data holds ${filter.data!.byteLength} bytes, expected ${OC * K}`);

  const OCp = roundUp(OC, 8), K2 = roundUp(K, 2);
  const w = new Int8Array(filter.data!.buffer, filter.data!.byteOffset, OC * K);
  const biasInt = biasValues(ctx, bias, OC, OCp);
  const biasBlob = ctx.constBlob(new Uint8Array(biasInt.buffer));
  const accBound = accumulatorBounds(biasInt, OC, inQ.zeroPoint, (c) => {
    let s = 0;
    for (let i = c * K; i < (c + 1) * K; i++) s += Math.abs(w[i]);
    return s;
  });
  const rqBlob = ctx.constBlob(requantTable(inQ.scale, wScales, outQ.scale, accBound));
  // CONV_ROWS i16 im2col rows of K2 values plus 16 bytes of slack each (the scalar path uses one).
  // Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (exact; the scratch holds its
  // transformed input rows and products instead).
  const winogradApplies = ctx.winograd === true && KH === 3 && KW === 3 && g.strideH === 1 && g.strideW === 1 &&
    g.dilationH === 1 && g.dilationW === 1 && N === 1 && IC % 8 === 0;
  const maxD = Math.max(Math.abs(-128 - inQ.zeroPoint), Math.abs(127 - inQ.zeroPoint));
  const winograd = winogradApplies ? winogradWeights(w, OC, IC, maxD) : null;
  const winogradBlob = winograd ? ctx.constBlob(new Uint8Array(winograd.buffer)) : null;
  // The direct path's packed weights, unless the Winograd path replaces it.
  const packed = winograd ? null : ctx.constBlob(new Uint8Array(packConvWeights(w, OC, K).buffer));
  // One group of output channels (first layers such as VWW's): interior tiles read their taps
  // straight from the input (conv2d.ts, "direct tiles") with weights in runs padded to even
  // length and the input zero point folded into the bias; a gathered row would feed only eight
  // channels' products. From two groups on, gathering once for both is faster (measured).
  const direct = !winograd && OCp <= 8 && N === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    !(KH === 1 && KW === 1 && g.strideH === 1 && g.strideW === 1) ? directWeights(w, OC, KH, KW * IC) : null;
  const directBlob = direct ? ctx.constBlob(new Uint8Array(direct.buffer)) : null;
  const weightSum = (c: number) => {
    let s = 0;
    for (let i = c * K; i < (c + 1) * K; i++) s += w[i];
    return s;
  };
  const foldedBlob = direct ? ctx.constBlob(new Uint8Array(foldInputZeroPoint(biasInt, OC, inQ.zeroPoint, weightSum).buffer)) : null;
  const im2colBytes = CONV_ROWS * roundUp(2 * K2 + 16, 16);
  const winogradBytes = winograd ? 16 * WINOGRAD_TILES * (2 * IC) + 16 * WINOGRAD_TILES * 32 : 0;
  const scratch = ctx.scratch(Math.max(im2colBytes, winogradBytes), 16);

  return {
    encode: (addr) => [{
      kernel: OP_CONV_2D,
      params: [
        addr.tensor(input), packed ? addr.blob(packed) : 0, addr.blob(biasBlob), addr.blob(rqBlob),
        addr.tensor(output), addr.scratch(scratch),
        N, H, W, IC, g.outH, g.outW, OC, KH, KW,
        g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft,
        inQ.zeroPoint, outQ.zeroPoint, g.act.min, g.act.max,
        winogradBlob ? addr.blob(winogradBlob) : 0,
        directBlob ? addr.blob(directBlob) : 0, foldedBlob ? addr.blob(foldedBlob) : 0,
      ],
    }],
  };
};
