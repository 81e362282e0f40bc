// The float32 requantization of CONV_2D / DEPTHWISE_CONV_2D (assembly/kernels/requantize.ts) must
// give TFLite's double-rounding bits everywhere, above all at the accumulators where the two
// roundings disagree with a single one. 1x1 convolutions with weight 1 and input zero point 0
// make acc = bias + x, so a 16x16 image holding every int8 value sweeps 256 consecutive
// accumulators per channel; the bias puts that window on a rounding boundary chosen per channel.
// Expected values: the BigInt reference in test/reference/conv.ts.
import { describe, expect, it } from "vitest";
import { prepareConv2d } from "../../host/runtime/ops/conv2d.js";
import { prepareDepthwiseConv2d } from "../../host/runtime/ops/depthwise_conv2d.js";
import { accumulatorBounds, requantTable } from "../../host/runtime/ops/conv_common.js";
import { BUILDS, KernelHarness, randInt, rng } from "../helpers/kernel-harness.js";
import { referenceConv2d, referenceDepthwiseConv2d, refQuantizeMultiplier, type ConvSpec } from "../reference/conv.js";
import { firstDiff, opFor } from "./conv-cases.js";
import { runOp } from "./op-harness.js";

const OC = 16;
const SIDE = 16; // 256 pixels: x = -128..127

/** Right shifts to exercise (0: single rounding; 1: the tie case of acc = -1 with m = 2^30). */
const SHIFTS = [0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 21, 25];

interface Channel { real: number; bias: number }

/**
 * Channel c: multiplier real = q * 2^-e, and a bias that centres the 256 accumulators on the
 * boundary between outputs k - 1 and k of TFLite's rounding: z = acc * real crosses
 * k - 1/2 - sign * 2^-(e+1) there (the double-rounding boundary; see requantize.ts).
 */
function channels(r: () => number, k: () => number): Channel[] {
  return SHIFTS.map((e, c) => {
    const q = c % 4 === 0 ? 0.5 : c % 4 === 1 ? 0.75 : 0.5 + r() * 0.5;
    const real = q * 2 ** -e;
    const [m] = refQuantizeMultiplier(real);
    const target = k();
    const half = e >= 1 ? 2 ** -(e + 1) : 0;
    const z = target - 0.5 - (target > 0 ? half : -half);
    const acc = Math.round((z * 2 ** (31 + e)) / m);
    // Keep the window inside int32 (large shifts put the boundary far out).
    const bias = Math.max(-(2 ** 31) + 200, Math.min(2 ** 31 - 200, acc + randInt(r, -100, 100)));
    return { real, bias };
  });
}

function spec(kind: "conv" | "dw", ch: Channel[], outZp: number): ConvSpec {
  const ic = kind === "conv" ? 1 : OC;
  const input = new Int8Array(SIDE * SIDE * ic);
  for (let p = 0; p < SIDE * SIDE; p++) for (let i = 0; i < ic; i++) input[p * ic + i] = p - 128;
  return {
    input, inShape: [1, SIDE, SIDE, ic], inScale: 1, inZp: 0,
    filter: new Int8Array(OC).fill(1),
    filterShape: kind === "conv" ? [OC, 1, 1, 1] : [1, 1, 1, OC],
    wScales: ch.map((c) => c.real),
    bias: Int32Array.from(ch.map((c) => c.bias)),
    outScale: 1, outZp, padding: "VALID", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
  };
}

function check(build: (typeof BUILDS)[number], kind: "conv" | "dw", s: ConvSpec): void {
  const ref = kind === "conv" ? referenceConv2d(s) : referenceDepthwiseConv2d(s);
  const got = runOp(new KernelHarness(build), kind === "conv" ? prepareConv2d : prepareDepthwiseConv2d,
    opFor(kind, s, ref.shape));
  const i = firstDiff(got, ref.data);
  if (i >= 0) {
    const c = i % OC;
    throw new Error(`${build} ${kind}: pixel ${Math.floor(i / OC)} (x = ${Math.floor(i / OC) - 128}) channel ${c} `
      + `(real ${s.wScales[c]}, bias ${s.bias![c]}): got ${got[i]}, expected ${ref.data[i]}`);
  }
}

describe("float32 requantization: table", () => {
  it("is enabled for these windows and disabled when |acc * real| could reach 2^21", () => {
    const r = rng(7);
    const ch = channels(r, () => randInt(r, -20, 20));
    const s = spec("conv", ch, 0);
    const bounds = accumulatorBounds(s.bias!, OC, 0, () => 1);
    const on = new Int32Array(requantTable(1, s.wScales, 1, bounds).buffer, 0, 4);
    expect(on[3]).toBe(1);
    const off = new Int32Array(requantTable(1, [2 ** -4], 1, [2 ** 26]).buffer, 0, 4);
    expect(off[3]).toBe(0);
    // A left shift (real >= 1) keeps it off too.
    const left = new Int32Array(requantTable(1, [3], 1, [100]).buffer, 0, 4);
    expect(left[3]).toBe(0);
    expect(new Int32Array(requantTable(1, [2 ** -4], 1).buffer, 0, 4)[3]).toBe(0);
  });
});

for (const build of BUILDS) {
  describe(`float32 requantization on the ${build} build`, () => {
    for (const kind of ["conv", "dw"] as const) {
      it(`${kind}: every accumulator around double-rounding boundaries inside int8`, () => {
        for (let seed = 0; seed < 12; seed++) {
          const r = rng(100 + seed);
          check(build, kind, spec(kind, channels(r, () => randInt(r, -127, 127)), randInt(r, -128, 127)));
        }
      });
      it(`${kind}: boundaries around zero (acc = -1 with m = 2^30) and at the saturation edges`, () => {
        for (let seed = 0; seed < 6; seed++) {
          const r = rng(200 + seed);
          const targets = [0, 1, -1, 128, -128, 129, -129, 255, -255, 384, -384, 385];
          check(build, kind, spec(kind, channels(r, () => targets[randInt(r, 0, targets.length - 1)]), randInt(r, -128, 127)));
        }
        // Windows centred on zero: acc = -128..127 for every channel.
        const r = rng(300);
        check(build, kind, spec(kind, channels(r, () => 0).map((c) => ({ ...c, bias: 0 })), 0));
        check(build, kind, spec(kind, channels(r, () => 0).map((c) => ({ ...c, bias: 0 })), -128));
      });
    }
  });
}
