// Straightforward int8 interpreter for the model descriptions host/train/quantize.ts produces
// (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE/MAX_POOL_2D, RESHAPE, SOFTMAX), written
// from ../shared/notes/int8-arithmetic.md with plain loops. It runs the description itself, not
// the .tflite file, and shares no code with the runtime: the fixed-point primitives come from
// test/reference/int8-ops.ts and the softmax from test/reference/softmax.ts.
import type { ModelDesc, TensorDesc } from "../../host/model/writer.js";
import { mbqm, refQuantizeMultiplier, refActivationRange } from "./int8-ops.js";
import { refSoftmaxInt8 } from "./softmax.js";
import { axis } from "./train-f64.js";

// BuiltinOperator codes (schema.fbs)
const CONV_2D = 3, DEPTHWISE_CONV_2D = 4, FULLY_CONNECTED = 9, AVERAGE_POOL_2D = 1, MAX_POOL_2D = 17, RESHAPE = 22, SOFTMAX = 25;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const i8 = (t: TensorDesc) => new Int8Array(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
const i32 = (t: TensorDesc) => new Int32Array(t.data!.slice().buffer);
const pad = (p: number) => (p === 0 ? "same" : "valid") as "same" | "valid";

/** Runs the graph on one int8 input; returns every activation tensor's values by tensor index. */
export function runInt8Graph(desc: ModelDesc, input: Int8Array): Map<number, Int8Array> {
  const vals = new Map<number, Int8Array>([[desc.inputs[0], input]]);
  const T = desc.tensors;
  for (const op of desc.operators) {
    const o = op.options ?? {};
    const x = vals.get(op.inputs[0])!;
    const xt = T[op.inputs[0]], yt = T[op.outputs[0]];
    const inScale = xt.quantization!.scale[0], inZp = xt.quantization!.zeroPoint[0];
    const outScale = yt.quantization!.scale[0], outZp = yt.quantization!.zeroPoint[0];
    const y = new Int8Array(yt.shape.reduce((a, b) => a * b, 1));
    const [lo, hi] = refActivationRange((o.fusedActivationFunction as number) ?? 0, outScale, outZp);
    const requant = (acc: number, wScale: number) => {
      const { multiplier, shift } = refQuantizeMultiplier(inScale * wScale / outScale);
      return clamp(mbqm(acc, multiplier, shift) + outZp, lo, hi);
    };
    switch (op.opcode) {
      case CONV_2D:
      case DEPTHWISE_CONV_2D: {
        const isDw = op.opcode === DEPTHWISE_CONV_2D;
        const wt = T[op.inputs[1]], w = i8(wt), b = i32(T[op.inputs[2]]);
        const [, H, W, C] = xt.shape, [, OH, OW, OC] = yt.shape;
        const [KH, KW] = isDw ? [wt.shape[1], wt.shape[2]] : [wt.shape[1], wt.shape[2]];
        const sh = o.strideH as number, sw = o.strideW as number;
        const ay = axis(H, KH, sh, pad(o.padding as number)), ax = axis(W, KW, sw, pad(o.padding as number));
        const M = isDw ? (o.depthMultiplier as number) : 1;
        for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let oc = 0; oc < OC; oc++) {
          let acc = b[oc];
          for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
            const iy = oy * sh - ay.before + ky, ix = ox * sw - ax.before + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            if (isDw) {
              acc += (x[(iy * W + ix) * C + Math.floor(oc / M)] - inZp) * w[(ky * KW + kx) * OC + oc];
            } else {
              for (let c = 0; c < C; c++) acc += (x[(iy * W + ix) * C + c] - inZp) * w[((oc * KH + ky) * KW + kx) * C + c];
            }
          }
          y[(oy * OW + ox) * OC + oc] = requant(acc, wt.quantization!.scale[oc]);
        }
        break;
      }
      case FULLY_CONNECTED: {
        const wt = T[op.inputs[1]], w = i8(wt), b = i32(T[op.inputs[2]]);
        const [outDim, inDim] = wt.shape;
        for (let j = 0; j < outDim; j++) {
          let acc = b[j];
          for (let i = 0; i < inDim; i++) acc += (x[i] - inZp) * w[j * inDim + i];
          y[j] = requant(acc, wt.quantization!.scale[wt.quantization!.scale.length === 1 ? 0 : j]);
        }
        break;
      }
      case AVERAGE_POOL_2D:
      case MAX_POOL_2D: {
        const [, H, W, C] = xt.shape, [, OH, OW] = yt.shape;
        const KH = o.filterHeight as number, KW = o.filterWidth as number, sh = o.strideH as number, sw = o.strideW as number;
        const ay = axis(H, KH, sh, pad(o.padding as number)), ax = axis(W, KW, sw, pad(o.padding as number));
        for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
          let sum = 0, n = 0, mx = -128;
          for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
            const iy = oy * sh - ay.before + ky, ix = ox * sw - ax.before + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = x[(iy * W + ix) * C + c];
            sum += v; n++; mx = Math.max(mx, v);
          }
          const avg = Math.trunc((sum > 0 ? sum + Math.trunc(n / 2) : sum - Math.trunc(n / 2)) / n);
          y[(oy * OW + ox) * C + c] = clamp(op.opcode === MAX_POOL_2D ? mx : avg, lo, hi);
        }
        break;
      }
      case RESHAPE: y.set(x); break;
      case SOFTMAX: {
        const depth = xt.shape[xt.shape.length - 1];
        y.set(refSoftmaxInt8(x, depth, (o.beta as number) ?? 1, inScale));
        break;
      }
      default: throw new Error(`reference: op ${op.opcode} not handled`);
    }
    vals.set(op.outputs[0], y);
  }
  return vals;
}
