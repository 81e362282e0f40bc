// CONV_2D prepare: validate the int8 operator, build the per-channel requantization table, the
// bias and the packed weights once, and encode the kernel block (assembly/kernels/conv2d.ts).
import { OP_CONV_2D } from "../../../assembly/abi.js";
import type { OpPrepare } from "./types.js";
import {
  accumulatorBounds, activationQuant, biasValues, checkRank4, convGeometry, requantTable, roundUp, weightScales,
} from "./conv_common.js";

/** Output pixels per SIMD register tile (CONV_ROWS in assembly/kernels/conv2d.ts). */
const CONV_ROWS = 4;

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
  const packed = ctx.constBlob(new Uint8Array(packConvWeights(w, OC, K).buffer));
  const biasInt = biasValues(ctx, bias, OC, OCp);
  const biasBlob = ctx.constBlob(new Uint8Array(biasInt.buffer));
  const accBound = accumulatorBounds(biasInt, OC, inQ.zeroPoint, (c) => {
    let s = 0;
    for (let i = c * K; i < (c + 1) * K; i++) s += Math.abs(w[i]);
    return s;
  });
  const rqBlob = ctx.constBlob(requantTable(inQ.scale, wScales, outQ.scale, accBound));
  // CONV_ROWS i16 im2col rows of K2 values plus 16 bytes of slack each (the scalar path uses one).
  const scratch = ctx.scratch(CONV_ROWS * roundUp(2 * K2 + 16, 16), 16);

  return {
    encode: (addr) => [{
      kernel: OP_CONV_2D,
      params: [
        addr.tensor(input), addr.blob(packed), addr.blob(biasBlob), addr.blob(rqBlob),
        addr.tensor(output), addr.scratch(scratch),
        N, H, W, IC, g.outH, g.outW, OC, KH, KW,
        g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft,
        inQ.zeroPoint, outQ.zeroPoint, g.act.min, g.act.max,
      ],
    }],
  };
};
