// The kernel builds load and agree on what they are; fixed-point basics are exercised by the
// per-kernel tests against the TypeScript reference in test/reference/.
import { describe, expect, it } from "vitest";
import { BUILDS, KernelHarness } from "./helpers/kernel-harness.js";
import { OP_COPY, OP_FILL } from "../assembly/abi.js";
import { quantizeMultiplier, frexp } from "../host/runtime/quant.js";

describe("kernel builds", () => {
  it("all three builds validate here (relaxed needs the vitest execArgv flag)", () => {
    expect(BUILDS).toEqual(["scalar", "simd", "relaxed"]);
  });
  for (const build of BUILDS) {
    it(`${build}: reports its features and runs COPY / FILL`, () => {
      const k = new KernelHarness(build);
      const f = k.k.exports.features();
      expect(f).toBe(build === "scalar" ? 0 : build === "simd" ? 1 : 3);
      const src = k.putI8([1, 2, 3, -4, 5]);
      const dst = k.alloc(5);
      k.run(OP_COPY, [src, dst, 5]);
      expect(Array.from(k.readI8(dst, 5))).toEqual([1, 2, 3, -4, 5]);
      const d16 = k.alloc(8);
      k.run(OP_FILL, [d16, 8, 2, -7]);
      expect(Array.from(k.readI16(d16, 4))).toEqual([-7, -7, -7, -7]);
    });
  }
});

describe("QuantizeMultiplier (host)", () => {
  it("frexp matches the definition x = q * 2^e, 0.5 <= q < 1", () => {
    for (const x of [1, 0.5, 0.75, 3, 1e-10, 123456.789, 2 ** -40, 0.9999999999]) {
      const [q, e] = frexp(x);
      expect(q).toBeGreaterThanOrEqual(0.5);
      expect(q).toBeLessThan(1);
      expect(q * 2 ** e).toBe(x);
    }
  });
  it("gives TFLite's multiplier/shift for hand-derived cases", () => {
    // 0.5 = 0.5 * 2^0 -> q_fixed = 2^30, shift 0
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    // 1.0 = 0.5 * 2^1
    expect(quantizeMultiplier(1.0)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    // just below 1: q rounds up to 2^31 -> halved, shift + 1
    expect(quantizeMultiplier(1 - 2 ** -40)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    // below 2^-32: flushed to zero
    expect(quantizeMultiplier(2 ** -33)).toEqual({ multiplier: 0, shift: 0 });
    // 0.75 = 0.75 * 2^0 -> round(0.75 * 2^31) = 1610612736
    expect(quantizeMultiplier(0.75)).toEqual({ multiplier: 1610612736, shift: 0 });
  });
});
