// ADD on every pair of int8 inputs (65536 elements, same shapes: the SIMD kernel's exact i32
// input rescale and its checked float32 output rescale), for random and edge quantizations,
// against the plain reference (test/reference/int8-ops.ts).
import { describe, it } from "vitest";
import { prepareAdd } from "../../host/runtime/ops/elementwise.js";
import { BUILDS, randInt, rng } from "../helpers/kernel-harness.js";
import { asI8, op, runOp, tensor } from "../helpers/prepare-harness.js";
import { addRef, type Quant } from "../reference/int8-ops.js";

const N = 65536;
const a = new Int8Array(N), b = new Int8Array(N);
for (let i = 0; i < N; i++) { a[i] = (i & 255) - 128; b[i] = (i >> 8) - 128; }

function check(build: (typeof BUILDS)[number], qa: Quant, qb: Quant, qo: Quant, act: number): void {
  const t = [
    tensor({ index: 0, shape: [N], scale: qa.scale, zeroPoint: qa.zp }),
    tensor({ index: 1, shape: [N], scale: qb.scale, zeroPoint: qb.zp }),
    tensor({ index: 2, shape: [N], scale: qo.scale, zeroPoint: qo.zp }),
  ];
  const o = op({ opName: "ADD", inputs: [0, 1], outputs: [2], options: { fusedActivationFunction: act } });
  const got = asI8(runOp(build, prepareAdd, t, o, { 0: a, 1: b })[2]);
  const want = addRef(a, [N], qa, b, [N], qb, qo, act);
  for (let i = 0; i < N; i++) {
    if (got[i] !== want[i]) {
      throw new Error(`${build}: x=${a[i]} y=${b[i]} got ${got[i]}, expected ${want[i]} `
        + `(scales ${qa.scale}/${qb.scale}/${qo.scale}, zps ${qa.zp}/${qb.zp}/${qo.zp})`);
    }
  }
}

for (const build of BUILDS) {
  describe(`ADD on all int8 pairs, ${build} build`, () => {
    it("random quantizations (input scale ratios 1..1000, output scales around the inputs')", () => {
      const r = rng(77);
      for (let t = 0; t < 10; t++) {
        const sa = 0.001 + r() * 0.2;
        const sb = sa * 2 ** ((r() - 0.5) * 20);
        const so = Math.max(sa, sb) * 2 ** ((r() - 0.3) * 6);
        check(build, { scale: sa, zp: randInt(r, -128, 127) }, { scale: sb, zp: randInt(r, -128, 127) },
          { scale: so, zp: randInt(r, -128, 127) }, [0, 1, 3][t % 3]);
      }
    });
    it("equal scales, power-of-two ratios and extreme zero points", () => {
      check(build, { scale: 0.05, zp: -128 }, { scale: 0.05, zp: 127 }, { scale: 0.1, zp: 0 }, 0);
      check(build, { scale: 0.25, zp: 0 }, { scale: 0.125, zp: -128 }, { scale: 0.5, zp: -128 }, 0);
      check(build, { scale: 0.03, zp: 127 }, { scale: 0.03, zp: 127 }, { scale: 0.03, zp: -128 }, 1);
      check(build, { scale: 1, zp: 5 }, { scale: 2 ** -19, zp: -7 }, { scale: 0.7, zp: 3 }, 0);
      // A tiny output scale: sums far outside int8 (saturation, float32 path bound).
      check(build, { scale: 0.1, zp: 0 }, { scale: 0.09, zp: 10 }, { scale: 0.0005, zp: 0 }, 0);
    });
  });
}
