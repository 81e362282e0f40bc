// ADD / MUL (int8, each tensor with its own scale and zero point), same shapes or NumPy-style
// broadcasting up to 4-D. Multipliers follow TFLM's add_common.cc / mul_common.cc.
// Block layouts: assembly/kernels/elementwise.ts.
import { OP_ADD, OP_MUL } from "../../../assembly/abi.js";
import { Activation, TensorType, type Tensor } from "../../model/types.js";
import { activationRange, quantizeMultiplier } from "../quant.js";
import type { Addresses, OpPrepare, PrepareContext } from "./types.js";

/** TFLM's left shift for int8 ADD: inputs are scaled up by 2^20 before rescaling. */
const ADD_LEFT_SHIFT = 20;

interface Broadcast {
  /** 0 for same-shape (flat loop), 1 for the strided 4-D loop. */
  mode: number;
  /** [d0..d3, input1 strides x4, input2 strides x4] (zeros when mode is 0). */
  words: number[];
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Output shape rules of NumPy broadcasting, and the element strides of each input. */
function planBroadcast(ctx: PrepareContext, a: Tensor, b: Tensor, out: Tensor): Broadcast {
  const same = (x: number[], y: number[]) => x.length === y.length && x.every((d, i) => d === y[i]);
  const flat: Broadcast = { mode: 0, words: new Array(12).fill(0) };
  if (same(a.shape, b.shape)) {
    ctx.check(count(out.shape) === count(a.shape), `output shape [${out.shape}] differs from the inputs' [${a.shape}]`);
    return flat;
  }
  const rank = Math.max(a.shape.length, b.shape.length);
  if (rank > 4) return ctx.unsupported(`broadcasting of rank ${rank} > 4 is not supported`);
  const ext = (s: number[]) => [...new Array(4 - s.length).fill(1), ...s];
  const ea = ext(a.shape);
  const eb = ext(b.shape);
  const dims = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    ctx.check(ea[i] === eb[i] || ea[i] === 1 || eb[i] === 1,
      `input shapes [${a.shape}] and [${b.shape}] cannot be broadcast`);
    dims[i] = ea[i] === 1 ? eb[i] : ea[i];
  }
  const eo = out.shape.length <= 4 ? ext(out.shape) : out.shape;
  ctx.check(eo.length === 4 && eo.every((d, i) => d === dims[i]),
    `output shape [${out.shape}] differs from the broadcast shape [${dims}]`);
  const strides = (e: number[]) => {
    const s = [0, 0, 0, 0];
    let step = 1;
    for (let i = 3; i >= 0; i--) {
      s[i] = e[i] === 1 ? 0 : step;
      step *= e[i];
    }
    return s;
  };
  // Shapes that differ only by leading 1s ([1,4] and [4]) still run the flat loop.
  if (same(ea, dims) && same(eb, dims)) return flat;
  return { mode: 1, words: [...dims, ...strides(ea), ...strides(eb)] };
}

function perTensor(ctx: PrepareContext, t: Tensor, what: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  ctx.check(t.type === TensorType.INT8, `${what} (tensor ${t.index}) type ${t.type} is not INT8`);
  ctx.check(q && q.scale.length === 1 && q.zeroPoint.length === 1,
    `${what} (tensor ${t.index}) must have one scale and zero point`);
  ctx.check(q!.scale[0] > 0 && Number.isFinite(q!.scale[0]), `${what} (tensor ${t.index}) has scale ${q!.scale[0]}`);
  return { scale: q!.scale[0], zeroPoint: q!.zeroPoint[0] };
}

function operand(ctx: PrepareContext, t: Tensor): (a: Addresses) => number {
  if (t.data) {
    const ref = ctx.constTensor(t);
    return (a) => a.blob(ref);
  }
  return (a) => a.tensor(t);
}

function range(ctx: PrepareContext, q: { scale: number; zeroPoint: number }): { min: number; max: number } {
  const act = (ctx.op.options.fusedActivationFunction as number | undefined) ?? Activation.NONE;
  try {
    return activationRange(act, q.scale, q.zeroPoint);
  } catch {
    return ctx.unsupported(`fused activation ${act} is not supported`);
  }
}

type Multiplier = { multiplier: number; shift: number };

/**
 * Words 29..31 of the ADD block: whether the SIMD kernel may requantize the output in float32
 * (assembly/kernels/requantize.ts: needs |sum * mo * 2^-(31+e)| < 2^21 for every reachable sum),
 * and the f32 scale and half-step as bit patterns.
 */
function addOutputF32(m1: Multiplier, m2: Multiplier, mo: Multiplier): number[] {
  // |rescaled input| <= 255 * 2^20 * m * 2^(shift-31) + 1 (one rounding up at most).
  const inMax = (m: Multiplier) => 255 * 2 ** 20 * m.multiplier * 2 ** (m.shift - 31) + 1;
  const e = -mo.shift;
  const zScale = mo.multiplier * 2 ** -(31 + e);
  const ok = e >= 0 && (inMax(m1) + inMax(m2)) * zScale < 2 ** 21;
  if (!ok) return [0, 0, 0];
  const bits = new Int32Array(new Float32Array([zScale, e >= 1 && mo.multiplier !== 0 ? 2 ** -(e + 1) : 0]).buffer);
  return [1, bits[0], bits[1]];
}

export const prepareAdd: OpPrepare = (ctx) => {
  const in1 = ctx.input(0);
  const in2 = ctx.input(1);
  const out = ctx.output(0);
  const q1 = perTensor(ctx, in1, "input 1");
  const q2 = perTensor(ctx, in2, "input 2");
  const qo = perTensor(ctx, out, "output");
  const bc = planBroadcast(ctx, in1, in2, out);
  const r = range(ctx, qo);
  // Doubles, in the order TFLM computes them (scales are float32 values).
  const twiceMax = 2 * Math.max(q1.scale, q2.scale);
  const m1 = quantizeMultiplier(q1.scale / twiceMax);
  const m2 = quantizeMultiplier(q2.scale / twiceMax);
  const mo = quantizeMultiplier(twiceMax / ((1 << ADD_LEFT_SHIFT) * qo.scale));
  // TFLM requires multipliers below one here (QuantizeMultiplierSmallerThanOneExp).
  ctx.check(mo.shift <= 0, `output scale ${qo.scale} is too small for the input scales (TFLM rejects it too)`);
  const a1 = operand(ctx, in1);
  const a2 = operand(ctx, in2);
  const f32 = addOutputF32(m1, m2, mo);
  return {
    encode: (a) => [{
      kernel: OP_ADD,
      params: [
        a1(a), a2(a), a.tensor(out), count(out.shape),
        q1.zeroPoint, q2.zeroPoint, qo.zeroPoint, r.min, r.max,
        ADD_LEFT_SHIFT, m1.multiplier, m1.shift, m2.multiplier, m2.shift, mo.multiplier, mo.shift,
        bc.mode, ...bc.words, ...f32,
      ],
    }],
  };
};

export const prepareMul: OpPrepare = (ctx) => {
  const in1 = ctx.input(0);
  const in2 = ctx.input(1);
  const out = ctx.output(0);
  const q1 = perTensor(ctx, in1, "input 1");
  const q2 = perTensor(ctx, in2, "input 2");
  const qo = perTensor(ctx, out, "output");
  const bc = planBroadcast(ctx, in1, in2, out);
  const r = range(ctx, qo);
  const m = quantizeMultiplier(q1.scale * q2.scale / qo.scale);
  ctx.check(m.shift <= 31, `effective scale ${q1.scale * q2.scale / qo.scale} is too large (shift ${m.shift} > 31)`);
  const a1 = operand(ctx, in1);
  const a2 = operand(ctx, in2);
  return {
    encode: (a) => [{
      kernel: OP_MUL,
      params: [
        a1(a), a2(a), a.tensor(out), count(out.shape),
        q1.zeroPoint, q2.zeroPoint, qo.zeroPoint, r.min, r.max,
        m.multiplier, m.shift,
        bc.mode, ...bc.words,
      ],
    }],
  };
};
