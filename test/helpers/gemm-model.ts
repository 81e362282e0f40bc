// A GEMM-shaped int8 FULLY_CONNECTED model (32 rows x 256 -> 256, per-channel weights, RELU) that
// qedge runs with its Strassen layout by default, with its expected output from the plain
// TypeScript reference (test/reference/int8-ops.ts).
import { BuiltinOp } from "../../host/model/types.js";
import { rng, randI8 } from "./kernel-harness.js";
import { GraphBuilder } from "./tflite-builder.js";
import { fullyConnectedRef, refActivationRange, refQuantizeMultiplier } from "../reference/int8-ops.js";

export const GEMM = { M: 32, K: 256, N: 256 } as const;
const { M, K, N } = GEMM;
const r = rng(7331);
const wVals = Array.from(randI8(r, N * K, -127, 127));
const wScales = Array.from({ length: N }, (_, c) => 0.002 + 0.00001 * c);
const bias = Array.from({ length: N }, (_, c) => (c * 7919) % 20001 - 10000);
/** The input rows [32, 256]. */
export const gemmInput = randI8(r, M * K, -128, 127);
const IN_SCALE = 0.04, IN_ZP = -5, OUT_SCALE = 0.6, OUT_ZP = 3;

/** input [32,256] zp -5 -> FULLY_CONNECTED (per-channel weights, RELU) -> [32,256]. */
export function gemmModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.act("x", [M, K], IN_SCALE, IN_ZP);
  const w = g.constI8("w", [N, K], wVals, { scale: wScales, zeroPoint: new Array(N).fill(0), quantizedDimension: 0 });
  const b = g.constI32("b", [N], bias, { scale: wScales.map((s) => s * IN_SCALE), zeroPoint: new Array(N).fill(0) });
  const y = g.act("y", [M, N], OUT_SCALE, OUT_ZP);
  g.op(BuiltinOp.FULLY_CONNECTED, [x, w, b], [y], { fusedActivationFunction: 1, keepNumDims: false, weightsFormat: 0 }, 5);
  g.inputs = [x];
  g.outputs = [y];
  return g.build();
}

/** The reference's output for gemmInput. */
export function gemmExpected(): Int8Array {
  const q = wScales.map((s) => refQuantizeMultiplier(IN_SCALE * s / OUT_SCALE));
  const [lo, hi] = refActivationRange(1, OUT_SCALE, OUT_ZP);
  return fullyConnectedRef({ input: gemmInput, inZp: IN_ZP, weights: Int8Array.from(wVals), bias: Int32Array.from(bias),
    batches: M, inDepth: K, outDepth: N, multipliers: q.map((m) => m.multiplier), shifts: q.map((m) => m.shift),
    outZp: OUT_ZP, lo, hi });
}
