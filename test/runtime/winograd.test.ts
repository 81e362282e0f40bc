// The Winograd option end to end: a model with a 3x3 stride-1 convolution loads with Winograd by
// default, gives the reference's bytes with and without it on every build, costs the weight
// memory it says, and steps aside when a memory budget needs it to.
import { describe, expect, it } from "vitest";
import { loadModel, loadModelSync, type Model } from "../../host/index.js";
import { BuiltinOp } from "../../host/model/types.js";
import { supportedBuilds } from "../../host/wasm/kernels.js";
import { rng, randI8 } from "../helpers/kernel-harness.js";
import { GraphBuilder } from "../helpers/tflite-builder.js";
import { referenceConv2d } from "../reference/conv.js";

const H = 8, W = 8, IC = 64, OC = 64;
const r = rng(2026);
const wVals = Array.from(randI8(r, OC * 9 * IC, -127, 127));
const wScales = Array.from({ length: OC }, (_, c) => 0.002 + 0.0001 * c);
const bias = Array.from({ length: OC }, (_, c) => (c * 7919) % 20001 - 10000);
const input = randI8(r, H * W * IC, -128, 127);

/** input [1,8,8,64] zp -5 -> CONV_2D 3x3 SAME stride 1 RELU (64 -> 64) -> [1,8,8,64]. */
function convModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.act("x", [1, H, W, IC], 0.04, -5);
  const w = g.constI8("w", [OC, 3, 3, IC], wVals, { scale: wScales, zeroPoint: new Array(OC).fill(0), quantizedDimension: 0 });
  const b = g.constI32("b", [OC], bias, { scale: wScales.map((s) => s * 0.04), zeroPoint: new Array(OC).fill(0) });
  const y = g.act("y", [1, H, W, OC], 0.5, -128);
  g.op(BuiltinOp.CONV_2D, [x, w, b], [y], { padding: 0, strideW: 1, strideH: 1, fusedActivationFunction: 1, dilationWFactor: 1, dilationHFactor: 1 }, 3);
  g.inputs = [x];
  g.outputs = [y];
  return g.build();
}

function expected(): Int8Array {
  return referenceConv2d({
    input, inShape: [1, H, W, IC], inScale: 0.04, inZp: -5,
    filter: Int8Array.from(wVals), filterShape: [OC, 3, 3, IC], wScales, bias: Int32Array.from(bias),
    outScale: 0.5, outZp: -128, padding: "SAME", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "RELU",
  }).data;
}

function run(m: Model): Int8Array {
  (m.input(0) as Int8Array).set(input);
  m.invoke();
  return Int8Array.from(m.output(0) as Int8Array);
}

describe("Winograd F(2x2, 3x3) convolutions through loadModel", () => {
  const bytes = convModel();
  const want = expected();

  it("every build, with and without Winograd, gives the reference's bytes", async () => {
    for (const kernels of supportedBuilds()) {
      for (const winograd of [undefined, false, true]) {
        const m = loadModelSync(bytes, { kernels, winograd });
        expect(Array.from(run(m)), `${kernels} winograd ${winograd}`).toEqual(Array.from(want));
      }
      expect(Array.from(run(await loadModel(bytes, { kernels }))), `${kernels} via loadModel`).toEqual(Array.from(want));
    }
  });

  it.each(supportedBuilds())("is on by default (%s) and its transformed weights show in the memory report", (kernels) => {
    const on = loadModelSync(bytes, { kernels });
    const off = loadModelSync(bytes, { kernels, winograd: false });
    // int8 weights [64][3][3][64] = 36864 bytes become 16 * 64 * 64 int16 = 131072 bytes.
    expect(on.memory.weightBytes - off.memory.weightBytes).toBe(131072 - 36864);
  });

  it.each(supportedBuilds())("falls back to the direct convolution when only Winograd breaks maxMemoryBytes (%s)", (kernels) => {
    const off = loadModelSync(bytes, { kernels, winograd: false });
    const on = loadModelSync(bytes, { kernels });
    expect(on.memory.wasmMemoryBytes).toBeGreaterThan(off.memory.wasmMemoryBytes);
    const m = loadModelSync(bytes, { kernels, maxMemoryBytes: off.memory.wasmMemoryBytes });
    expect(m.memory.weightBytes).toBe(off.memory.weightBytes);
    expect(Array.from(run(m))).toEqual(Array.from(want));
    // Asked for explicitly, Winograd is not dropped silently.
    expect(() => loadModelSync(bytes, { kernels, winograd: true, maxMemoryBytes: off.memory.wasmMemoryBytes })).toThrow(/memory/i);
  });
});
