// The hand-encoded ONNX graphs (bench/lib/onnx-graphs.mjs) run in onnxruntime-node and compute
// what a hand-worked tiny case says, including the TFLite -> ONNX weight reordering.
// Needs the bench peers (bench/node_modules, installed by `npm run bench`); skipped without them.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS module without type declarations
import { qlinearConvModel, qlinearMatMulModel, matMulIntegerModel } from "../../bench/lib/onnx-graphs.mjs";

const require = createRequire(new URL("../../bench/", import.meta.url));
const HAVE_ORT = existsSync(new URL("../../bench/node_modules/onnxruntime-node/package.json", import.meta.url));
if (!HAVE_ORT) console.warn("bench/node_modules absent (run `npm run bench` once): skipping the ONNX graph tests");

async function run1(model: Uint8Array, name: string, data: Uint8Array, dims: number[]) {
  const ort = require("onnxruntime-node");
  const s = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const out = await s.run({ [name]: new ort.Tensor("uint8", data, dims) });
  const y = out[s.outputNames[0]];
  return { dims: y.dims as number[], data: Array.from(y.data as ArrayLike<number>, Number) };
}

// Real values with scale 1: int8 zero point 0 is uint8 zero point 128.
const unit = { xScale: 1, xZero: 0, yScale: 1, yZero: 0 };

describe.skipIf(!HAVE_ORT)("hand-encoded ONNX graphs in onnxruntime-node", () => {
  it("QLinearConv reads TFLite OHWI weights: 2x2 kernel over 2 channels", async () => {
    // input NHWC 1x2x2x2 with value(y, x, i) = 1 + (y*2 + x)*2 + i (1..8). Each output channel
    // picks one tap: o0 -> (0,0,0) = 1, o1 -> (1,1,1) = 8, o2 -> (0,1,0) = 3 (a y/x mix-up gives 5),
    // o3 -> (0,0,1) = 2 (an x/i mix-up gives 3). OHWI index ((o*2 + y)*2 + x)*2 + i.
    const w = new Int8Array(4 * 2 * 2 * 2);
    const tap = (o: number, y: number, x: number, i: number) => { w[((o * 2 + y) * 2 + x) * 2 + i] = 1; };
    tap(0, 0, 0, 0); tap(1, 1, 1, 1); tap(2, 0, 1, 0); tap(3, 0, 0, 1);
    const model = qlinearConvModel({ ...unit, H: 2, W: 2, C: 2, O: 4, kh: 2, kw: 2, strideH: 1, strideW: 1,
      pads: [0, 0, 0, 0], group: 1, OH: 1, OW: 1, weightsOHWI: w, bias: new Int32Array(4), wScales: [1, 1, 1, 1] });
    const nchw = new Uint8Array(8);
    for (let i = 0; i < 2; i++) for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) nchw[(i * 2 + y) * 2 + x] = 128 + 1 + (y * 2 + x) * 2 + i;
    const y = await run1(model, "x", nchw, [1, 2, 2, 2]);
    expect(y.dims).toEqual([1, 4, 1, 1]);
    expect(y.data).toEqual([129, 136, 131, 130]);
  });

  it("QLinearConv depthwise reads TFLite 1HWC weights, adds bias, scales per channel", async () => {
    // channel c output = sum_x in[x][c] * w[x][c]: w x0 = (1, 0), x1 = (0, 1) -> c0 = 1, c1 = 4;
    // bias (10, 0) at scale 1; channel 1's weight scale 2 doubles it: (11, 8)
    const w = Int8Array.from([1, 0, 0, 1]);
    const model = qlinearConvModel({ ...unit, H: 1, W: 2, C: 2, O: 2, kh: 1, kw: 2, strideH: 1, strideW: 1,
      pads: [0, 0, 0, 0], group: 2, OH: 1, OW: 1, weightsOHWI: w, bias: Int32Array.from([10, 0]), wScales: [1, 2] });
    const y = await run1(model, "x", Uint8Array.from([129, 131, 130, 132]), [1, 2, 1, 2]);
    expect(y.data).toEqual([128 + 11, 128 + 8]);
  });

  it("QLinearMatMul and MatMulInteger take TFLite [N,K] weights", async () => {
    // weights [N=2][K=2] = [[0, 1], [0, 0]]: y0 = a1 = 7, y1 = 0 (a transposed reading would give y1 = 5)
    const g = { M: 1, K: 2, N: 2, weightsNK: Int8Array.from([0, 1, 0, 0]), aScale: 1, aZero: 0, wScale: 1, yScale: 1, yZero: -3 };
    const q = await run1(qlinearMatMulModel(g), "a", Uint8Array.from([133, 135]), [1, 2]);
    expect(q.data).toEqual([128 - 3 + 7, 128 - 3]);
    const i = await run1(matMulIntegerModel(g), "a", Uint8Array.from([133, 135]), [1, 2]);
    expect(i.data).toEqual([7, 0]);
  });
});
