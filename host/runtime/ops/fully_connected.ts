// FULLY_CONNECTED (int8): validates the operator, packs the weights for the kernel (row layout
// for one or few input rows, pair layout for batches, Strassen layout for large even batches;
// assembly/kernels/fc_layout.ts), folds the input zero point into the bias and computes one
// requantization multiplier per output channel. Kernel block layout: assembly/kernels/fully_connected.ts.
import { OP_FULLY_CONNECTED } from "../../../assembly/abi.js";
import {
  FC_BATCHED_MIN, FC_CHUNK, FC_GROUP, FC_ROWS, FC_STRASSEN_DEPTH, FC_STRASSEN_MIN_BATCHES, FC_STRASSEN_MIN_DEPTH,
  FC_STRASSEN_MIN_OUT, FC_STRASSEN_OUT, FC_STRASSEN_ROWS, FC_TILE_M,
} from "../../../assembly/kernels/fc_layout.js";
import { Activation, TensorType, type Tensor } from "../../model/types.js";
import { activationRange, quantizeMultiplier } from "../quant.js";
import type { Addresses, OpPrepare, PrepareContext } from "./types.js";

/** Pack [out, in] int8 weights into the kernel's row-group / chunk layout (zero padded). */
export function packFcWeights(w: Int8Array, outDepth: number, inDepth: number): Int8Array {
  const chunks = Math.ceil(inDepth / FC_CHUNK);
  const groups = Math.ceil(outDepth / FC_ROWS);
  const packed = new Int8Array(groups * chunks * FC_ROWS * FC_CHUNK);
  for (let r = 0; r < outDepth; r++) {
    const g = Math.floor(r / FC_ROWS);
    const rr = r % FC_ROWS;
    for (let k = 0; k < inDepth; k++) {
      const c = Math.floor(k / FC_CHUNK);
      packed[((g * chunks + c) * FC_ROWS + rr) * FC_CHUNK + (k % FC_CHUNK)] = w[r * inDepth + k];
    }
  }
  return packed;
}

/** Input pairs per output channel in the pair layout: roundup(in, 4) / 2 (even). */
export function fcPairs(inDepth: number): number {
  return Math.ceil(inDepth / 4) * 2;
}

/** Pack [out, in] int8 weights into the kernel's pair layout (int16; groups of 8 channels, pairs of k). */
export function packFcWeightsPairs(w: Int8Array, outDepth: number, inDepth: number): Int16Array {
  const pairs = fcPairs(inDepth);
  const groups = Math.ceil(outDepth / FC_GROUP);
  const packed = new Int16Array(groups * pairs * FC_GROUP * 2);
  for (let r = 0; r < outDepth; r++) {
    const g = Math.floor(r / FC_GROUP);
    for (let k = 0; k < inDepth; k++) {
      const q = k >> 1;
      packed[((g * pairs + q) * FC_GROUP + (r % FC_GROUP)) * 2 + (k & 1)] = w[r * inDepth + k];
    }
  }
  return packed;
}

/**
 * Pack [out, in] int8 weights into the Strassen layout (fc_layout.ts): for each group of
 * FC_GROUP channels of the first half, the seven weight-sum blocks T0..T6 in the pair layout.
 */
export function packFcWeightsStrassen(w: Int8Array, outDepth: number, inDepth: number): Int16Array {
  const h = inDepth / 2, nh = outDepth / 2, ph = h / 2;
  const at = (n: number, k: number) => w[n * inDepth + k];
  // B[k][n] = w[n][k]; quadrants by (depth half, channel half).
  const b11 = (k: number, n: number) => at(n, k), b12 = (k: number, n: number) => at(n + nh, k);
  const b21 = (k: number, n: number) => at(n, k + h), b22 = (k: number, n: number) => at(n + nh, k + h);
  const sums: ((k: number, n: number) => number)[] = [
    (k, n) => b11(k, n) + b22(k, n), b11, (k, n) => b12(k, n) - b22(k, n), (k, n) => b21(k, n) - b11(k, n),
    b22, (k, n) => b11(k, n) + b12(k, n), (k, n) => b21(k, n) + b22(k, n),
  ];
  const packed = new Int16Array(7 * nh * h);
  let o = 0;
  for (let g = 0; g < nh; g += FC_GROUP) {
    for (const t of sums) {
      for (let q = 0; q < ph; q++) {
        for (let c = 0; c < FC_GROUP; c++) {
          packed[o++] = t(2 * q, g + c);
          packed[o++] = t(2 * q + 1, g + c);
        }
      }
    }
  }
  return packed;
}

/** Whether a batched FULLY_CONNECTED splits evenly for the Strassen layout and is large enough. */
export function fcStrassenEligible(batches: number, inDepth: number, outDepth: number): boolean {
  return batches % FC_STRASSEN_ROWS === 0 && inDepth % FC_STRASSEN_DEPTH === 0 && outDepth % FC_STRASSEN_OUT === 0
    && batches >= FC_STRASSEN_MIN_BATCHES && inDepth >= FC_STRASSEN_MIN_DEPTH && outDepth >= FC_STRASSEN_MIN_OUT;
}

/** Address of a tensor operand, constant (placed as a blob) or not. */
function operand(ctx: PrepareContext, t: Tensor): (a: Addresses) => number {
  if (t.data) {
    const ref = ctx.constTensor(t);
    return (a) => a.blob(ref);
  }
  return (a) => a.tensor(t);
}

function perTensor(ctx: PrepareContext, t: Tensor, what: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  ctx.check(q && q.scale.length === 1 && q.zeroPoint.length === 1,
    `${what} (tensor ${t.index}) must have one scale and zero point`);
  ctx.check(q!.scale[0] > 0 && Number.isFinite(q!.scale[0]), `${what} (tensor ${t.index}) has scale ${q!.scale[0]}`);
  return { scale: q!.scale[0], zeroPoint: q!.zeroPoint[0] };
}

/**
 * Words 13..15 of the block: whether the SIMD kernel may requantize in float32
 * (assembly/kernels/requantize.ts: no left shift, and |acc * m * 2^-(31+e)| < 2^21 for every
 * reachable accumulator, bounded by |bias| + max|x - inZp| * sum |w|), the f32 scale and
 * half-step as bit patterns.
 */
function fcFloat32(w: Int8Array, bias: Int32Array | null, outDepth: number, inDepth: number, inZp: number,
  multiplier: number, shift: number): number[] {
  if (shift > 0) return [0, 0, 0];
  const e = -shift;
  const zScale = multiplier * 2 ** -(31 + e);
  const maxDev = Math.max(127 - inZp, inZp + 128);
  for (let c = 0; c < outDepth; c++) {
    let s = 0;
    for (let k = 0; k < inDepth; k++) s += Math.abs(w[c * inDepth + k]);
    const bound = Math.min(2 ** 31, Math.abs(bias ? bias[c] : 0) + maxDev * s);
    if (bound * zScale >= 2 ** 21) return [0, 0, 0];
  }
  const bits = new Int32Array(new Float32Array([zScale, e >= 1 && multiplier !== 0 ? 2 ** -(e + 1) : 0]).buffer);
  return [1, bits[0], bits[1]];
}

export const prepareFullyConnected: OpPrepare = (ctx) => {
  const input = ctx.input(0);
  const weights = ctx.input(1);
  const bias = ctx.optionalInput(2);
  const output = ctx.output(0);
  const opts = ctx.op.options;
  const act = (opts.fusedActivationFunction as number | undefined) ?? Activation.NONE;

  ctx.check(input.type === TensorType.INT8, `input type ${input.type} is not INT8 (only int8 FULLY_CONNECTED is supported)`);
  ctx.check(weights.type === TensorType.INT8, `weights type ${weights.type} is not INT8`);
  ctx.check(output.type === TensorType.INT8, `output type ${output.type} is not INT8`);
  ctx.check(((opts.weightsFormat as number | undefined) ?? 0) === 0,
    `weights_format ${opts.weightsFormat} is not supported (only DEFAULT)`);
  ctx.check(weights.data !== null, "weights must be a constant tensor");
  ctx.check(weights.shape.length === 2, `weights shape [${weights.shape}] is not [out, in]`);
  const [outDepth, inDepth] = weights.shape;
  ctx.check(outDepth > 0 && inDepth > 0, `weights shape [${weights.shape}] is empty`);

  const inElems = input.shape.reduce((a, b) => a * b, 1);
  const outElems = output.shape.reduce((a, b) => a * b, 1);
  ctx.check(inElems % inDepth === 0, `input shape [${input.shape}] does not flatten to rows of ${inDepth}`);
  const batches = inElems / inDepth;
  ctx.check(output.shape[output.shape.length - 1] === outDepth && outElems === batches * outDepth,
    `output shape [${output.shape}] does not match ${batches} batch(es) of ${outDepth} outputs`);

  const inQ = perTensor(ctx, input, "input");
  const outQ = perTensor(ctx, output, "output");
  const wq = weights.quantization;
  ctx.check(wq && (wq.scale.length === 1 || (wq.scale.length === outDepth && wq.quantizedDimension === 0)),
    `weights need one scale or one per output channel (got ${wq?.scale.length ?? 0})`);
  ctx.check(wq!.zeroPoint.every((z) => z === 0), "weights zero point must be 0");
  ctx.check(wq!.scale.every((s) => s > 0 && Number.isFinite(s)), "weights scales must be positive");

  let biasValues: Int32Array | null = null;
  if (bias) {
    ctx.check(bias.type === TensorType.INT32, `bias type ${bias.type} is not INT32`);
    ctx.check(bias.data !== null, "bias must be a constant tensor");
    ctx.check(bias.byteLength === outDepth * 4, `bias has ${bias.byteLength / 4} values, expected ${outDepth}`);
    const b = bias.data!;
    biasValues = new Int32Array(outDepth);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let c = 0; c < outDepth; c++) biasValues[c] = view.getInt32(c * 4, true);
  }

  let range: { min: number; max: number };
  try {
    range = activationRange(act, outQ.scale, outQ.zeroPoint);
  } catch {
    return ctx.unsupported(`fused activation ${act} is not supported`);
  }

  const w = new Int8Array(weights.data!.buffer, weights.data!.byteOffset, outDepth * inDepth);
  // Three int32 arrays padded to whole row groups: folded bias, multipliers, shifts.
  // Folded bias: bias[c] - in_zp * Σ w[c][k], wrapped to int32 as TFLM's int32 accumulator does.
  const padded = Math.ceil(outDepth / FC_GROUP) * FC_GROUP;
  const params = new Int32Array(3 * padded);
  for (let c = 0; c < outDepth; c++) {
    let sumW = 0;
    for (let k = 0; k < inDepth; k++) sumW += w[c * inDepth + k];
    params[c] = ((biasValues ? biasValues[c] : 0) - inQ.zeroPoint * sumW) | 0;
    const wScale = wq!.scale.length === 1 ? wq!.scale[0] : wq!.scale[c];
    const { multiplier, shift } = quantizeMultiplier(inQ.scale * wScale / outQ.scale);
    ctx.check(shift <= 31, `effective scale ${inQ.scale * wScale / outQ.scale} is too large (shift ${shift} > 31)`);
    params[padded + c] = multiplier;
    params[2 * padded + c] = shift;
  }
  let uniform = 1;
  for (let c = 1; c < outDepth; c++) {
    if (params[padded + c] !== params[padded] || params[2 * padded + c] !== params[2 * padded]) uniform = 0;
  }
  const f32 = uniform ? fcFloat32(w, biasValues, outDepth, inDepth, inQ.zeroPoint, params[padded], params[2 * padded]) : [0, 0, 0];
  // Batches run in tiles over the pair layout, with a small scratch for the tile's widened rows.
  // Large even batches: one level of Strassen (fc_strassen.ts), unless turned off.
  const batched = batches >= FC_BATCHED_MIN;
  const strassen = batched && ctx.strassen === true && fcStrassenEligible(batches, inDepth, outDepth);
  const layout = strassen ? 2 : batched ? 1 : 0;
  const packed = ctx.constBlob(new Uint8Array((strassen ? packFcWeightsStrassen(w, outDepth, inDepth)
    : batched ? packFcWeightsPairs(w, outDepth, inDepth) : packFcWeights(w, outDepth, inDepth)).buffer));
  // Scratch: the pair layout's widened tile; Strassen's seven input-sum tiles and seven product tiles.
  const scratch = strassen ? ctx.scratch(7 * (inDepth / 4) * 16 + 7 * FC_TILE_M * FC_GROUP * 4, 16)
    : batched ? ctx.scratch(FC_TILE_M * 4 * fcPairs(inDepth), 16) : null;
  const consts = ctx.constBlob(new Uint8Array(params.buffer));
  const inAddr = operand(ctx, input);

  return {
    encode: (a) => {
      const base = a.blob(consts);
      return [{
        kernel: OP_FULLY_CONNECTED,
        params: [
          inAddr(a), a.blob(packed), base, a.tensor(output),
          batches, inDepth, outDepth,
          base + 4 * padded, base + 8 * padded,
          outQ.zeroPoint, range.min, range.max, uniform, ...f32,
          layout, scratch ? a.scratch(scratch) : 0,
        ],
      }];
    },
  };
};
