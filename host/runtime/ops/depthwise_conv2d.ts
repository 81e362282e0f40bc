// DEPTHWISE_CONV_2D prepare: validate the int8 operator, build the per-channel requantization
// table and the bias once, and encode the kernel block (assembly/kernels/depthwise_conv2d.ts).
import { OP_DEPTHWISE_CONV_2D } from "../../../assembly/abi.js";
import type { OpPrepare } from "./types.js";
import {
  accumulatorBounds, activationQuant, biasValues, checkRank4, convGeometry, foldInputZeroPoint, requantTable, roundUp,
  weightScales,
} from "./conv_common.js";

/**
 * The SIMD kernel's pair-packed weights, as int16 (loaded without a sign-extension step): for each
 * full block of 8 channels, for each pair of taps (t, t+1), 8 values
 * [w(t, c0), w(t+1, c0), ..., w(t, c7), w(t+1, c7)]; a missing last partner is 0.
 */
export function packDepthwisePairs(w: Int8Array, taps: number, oc: number): Int16Array {
  const blocks = Math.floor(oc / 8), nPairs = Math.ceil(taps / 2);
  const out = new Int16Array(Math.max(1, blocks * nPairs * 16));
  for (let b = 0; b < blocks; b++) {
    for (let q = 0; q < nPairs; q++) {
      for (let j = 0; j < 8; j++) {
        const c = b * 8 + j;
        const at = ((b * nPairs + q) * 8 + j) * 2;
        out[at] = w[2 * q * oc + c];
        out[at + 1] = 2 * q + 1 < taps ? w[(2 * q + 1) * oc + c] : 0;
      }
    }
  }
  return out;
}

/**
 * The 3x3 row sweep's tap pairs (taps t = ky * 3 + kx): the two first kernel rows paired
 * vertically per column, then the third row's (t6, t7) and t8 alone; neighbouring output pixels
 * share column pairs (assembly/kernels/depthwise_conv2d.ts, sweepRow3x3).
 */
const SWEEP_TAP_PAIRS: ReadonlyArray<readonly [number, number]> = [[0, 3], [1, 4], [2, 5], [6, 7], [8, -1]];

/**
 * The 3x3 SIMD path's per-block constants (kernel word 27): for each block of 8 channels, the
 * block's 80 int16 weights in the pairs of SWEEP_TAP_PAIRS (per pair, per channel: the two
 * taps' weights), then its folded bias (8 x int32), then the float32 scales and
 * half-steps of the requantization table (8 x f32 each, at 16 + 32n + 64 b of it).
 */
export function packDepthwiseBlocks(w: Int8Array, folded: Int32Array, rq: Uint8Array, oc: number): Uint8Array {
  const blocks = oc / 8;
  const out = new Uint8Array(blocks * 256);
  const view = new DataView(out.buffer);
  const rqView = new DataView(rq.buffer, rq.byteOffset, rq.byteLength);
  for (let b = 0; b < blocks; b++) {
    const at = b * 256;
    SWEEP_TAP_PAIRS.forEach(([t, u], q) => {
      for (let j = 0; j < 8; j++) {
        const c = b * 8 + j;
        view.setInt16(at + 32 * q + 4 * j, w[t * oc + c], true);
        view.setInt16(at + 32 * q + 4 * j + 2, u < 0 ? 0 : w[u * oc + c], true);
      }
    });
    for (let j = 0; j < 8; j++) {
      const c = b * 8 + j;
      view.setInt32(at + 160 + 4 * j, folded[c], true);
      view.setUint32(at + 192 + 4 * j, rqView.getUint32(16 + 32 * oc + 64 * b + 4 * j, true), true);
      view.setUint32(at + 224 + 4 * j, rqView.getUint32(16 + 32 * oc + 64 * b + 32 + 4 * j, true), true);
    }
  }
  return out;
}

export const prepareDepthwiseConv2d: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const filter = ctx.input(1);
  const bias = ctx.optionalInput(2);
  const output = ctx.output(0);
  const [N, H, W, IC] = checkRank4(ctx, input, "input");
  const [one, KH, KW, OC] = checkRank4(ctx, filter, "filter");
  checkRank4(ctx, output, "output");
  ctx.check(one === 1, `filter must have shape [1, KH, KW, C], has [${filter.shape.join(",")}]`);
  ctx.check(OC % IC === 0, `filter has ${OC} channels, not a multiple of the ${IC} input channels`);
  const mult = OC / IC;
  const opt = ctx.op.options.depthMultiplier;
  // Some converters write 0 here; the shapes are what the kernel follows.
  ctx.check(opt === undefined || Number(opt) === 0 || Number(opt) === mult,
    `depth_multiplier ${opt} disagrees with the shapes (${OC} output / ${IC} input channels)`);
  const inQ = activationQuant(ctx, input, "input");
  const outQ = activationQuant(ctx, output, "output");
  const wScales = weightScales(ctx, filter, OC, 3, "filter");
  const g = convGeometry(ctx, H, W, KH, KW, outQ.scale, outQ.zeroPoint);
  const expect = [N, g.outH, g.outW, OC];
  ctx.check(output.shape.every((d, i) => d === expect[i]),
    `output shape [${output.shape.join(",")}] should be [${expect.join(",")}]`);
  ctx.check(filter.data!.byteLength >= KH * KW * OC,
    `filter data holds ${filter.data!.byteLength} bytes, expected ${KH * KW * OC}`);

  const w = new Int8Array(filter.data!.buffer, filter.data!.byteOffset, KH * KW * OC);
  const weights = ctx.constTensor(filter);
  const pairValues = packDepthwisePairs(w, KH * KW, OC);
  const pairs = ctx.constBlob(new Uint8Array(pairValues.buffer));
  const biasInt = biasValues(ctx, bias, OC, roundUp(OC, 8));
  const biasBlob = ctx.constBlob(new Uint8Array(biasInt.buffer));
  const foldedValues = foldInputZeroPoint(biasInt, OC, inQ.zeroPoint, (c) => {
    let s = 0;
    for (let t = 0; t < KH * KW; t++) s += w[t * OC + c];
    return s;
  });
  const folded = ctx.constBlob(new Uint8Array(foldedValues.buffer));
  const taps = KH * KW;
  const accBound = accumulatorBounds(biasInt, OC, inQ.zeroPoint, (c) => {
    let s = 0;
    for (let t = 0; t < taps; t++) s += Math.abs(w[t * OC + c]);
    return s;
  });
  const rqTable = requantTable(inQ.scale, wScales, outQ.scale, accBound);
  const rqBlob = ctx.constBlob(rqTable);
  // The SIMD kernel's row sweep for 3x3, depth multiplier 1, whole 8-channel blocks: its block
  // constants and a ring of 4 padded rows (see assembly/kernels/depthwise_conv2d.ts).
  const rowSweep = KH === 3 && KW === 3 && mult === 1 && OC % 8 === 0;
  const blocks = rowSweep ? ctx.constBlob(packDepthwiseBlocks(w, foldedValues, rqTable, OC)) : undefined;
  const paddedWidth = Math.max(g.padLeft + W, (g.outW - 1) * g.strideW + 2 * g.dilationW + 1);
  const rows = rowSweep ? ctx.scratch(4 * paddedWidth * IC, 16) : undefined;

  return {
    encode: (addr) => [{
      kernel: OP_DEPTHWISE_CONV_2D,
      params: [
        addr.tensor(input), addr.blob(weights), addr.blob(biasBlob), addr.blob(rqBlob), addr.tensor(output),
        N, H, W, IC, g.outH, g.outW, OC, mult, KH, KW,
        g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft,
        inQ.zeroPoint, outQ.zeroPoint, g.act.min, g.act.max,
        addr.blob(pairs), addr.blob(folded),
        blocks ? addr.blob(blocks) : 0, rows ? addr.scratch(rows) : 0,
      ],
    }],
  };
};
