// ADD / MUL through the host prepare and the kernel, on every build, against the plain
// TypeScript reference: same shapes, broadcasting, in-place output, rejections.
import { describe, expect, it } from "vitest";
import { prepareAdd, prepareMul } from "../../host/runtime/ops/elementwise.js";
import { BUILDS, randI8, randInt, rng } from "../helpers/kernel-harness.js";
import { asI8, op, prepareOp, runOp, tensor } from "../helpers/prepare-harness.js";
import { addRef, broadcastIndex, mulRef, type Quant } from "../reference/int8-ops.js";

type Kind = "ADD" | "MUL";

interface Case {
  shapeA: number[]; shapeB: number[]; qa: Quant; qb: Quant; qo: Quant; act: number;
  a: Int8Array; b: Int8Array;
}

function outShape(c: Case): number[] {
  return broadcastIndex(c.shapeA, c.shapeB).shape;
}

function run(build: (typeof BUILDS)[number], kind: Kind, c: Case, inPlace = false): Int8Array {
  const t = [
    tensor({ index: 0, shape: c.shapeA, scale: c.qa.scale, zeroPoint: c.qa.zp }),
    tensor({ index: 1, shape: c.shapeB, scale: c.qb.scale, zeroPoint: c.qb.zp }),
    tensor({ index: 2, shape: outShape(c), scale: c.qo.scale, zeroPoint: c.qo.zp }),
  ];
  const o = op({ opName: kind, inputs: [0, 1], outputs: [2], options: { fusedActivationFunction: c.act } });
  const prep = kind === "ADD" ? prepareAdd : prepareMul;
  return asI8(runOp(build, prep, t, o, { 0: c.a, 1: c.b }, inPlace ? { output: 2, input: 0 } : undefined)[2]);
}

function expected(kind: Kind, c: Case): Int8Array {
  const f = kind === "ADD" ? addRef : mulRef;
  return f(c.a, c.shapeA, c.qa, c.b, c.shapeB, c.qb, c.qo, c.act);
}

const zpPick = (r: () => number) => [-128, 127, 0, randInt(r, -128, 127)][randInt(r, 0, 3)];

function randomCase(r: () => number, kind: Kind, shapeA: number[], shapeB: number[]): Case {
  const qa = { scale: 0.002 + r() * 0.2, zp: zpPick(r) };
  const qb = { scale: 0.002 + r() * 0.2, zp: zpPick(r) };
  // ADD: output scale around the inputs'; MUL: around their product, sometimes with multiplier > 1.
  const qo = kind === "ADD"
    ? { scale: Math.max(qa.scale, qb.scale) * (0.3 + r() * 2), zp: zpPick(r) }
    : { scale: qa.scale * qb.scale * (r() < 0.3 ? 0.05 + r() * 0.5 : 5 + r() * 200), zp: zpPick(r) };
  const n = (s: number[]) => s.reduce((x, y) => x * y, 1);
  return { shapeA, shapeB, qa, qb, qo, act: [0, 1, 2, 3][randInt(r, 0, 3)],
    a: randI8(r, n(shapeA)), b: randI8(r, n(shapeB)) };
}

const BROADCASTS: [number[], number[]][] = [
  [[2, 3, 4, 5], [5]],
  [[5], [2, 3, 4, 5]],
  [[2, 1, 4, 1], [1, 3, 1, 5]],
  [[1, 4, 4, 3], [1, 1, 1, 3]],
  [[3, 1], [1, 7]],
  [[4], [1]],
  [[1], [2, 2, 2]],
  [[1, 6], [6]], // only a leading 1 differs: flat loop
];

for (const build of BUILDS) {
  for (const kind of ["ADD", "MUL"] as Kind[]) {
    describe(`${kind} (${build})`, () => {
      it("same shapes: 60 random cases (zero points at -128/127, saturation, activations)", () => {
        const r = rng(kind === "ADD" ? 11 : 12);
        for (let i = 0; i < 60; i++) {
          const shape = [1, randInt(r, 1, 6), randInt(r, 1, 6), randInt(r, 1, 20)];
          const c = randomCase(r, kind, shape, shape);
          expect(Array.from(run(build, kind, c)), `case ${i}: ${JSON.stringify({ ...c, a: 0, b: 0 })}`)
            .toEqual(Array.from(expected(kind, c)));
        }
      });

      it("large tensors (ADD's per-input tables, SIMD steps with odd tails): 12 random cases", () => {
        const r = rng(kind === "ADD" ? 51 : 52);
        for (let i = 0; i < 12; i++) {
          const shape = [1, randInt(r, 8, 24), randInt(r, 8, 24), randInt(r, 5, 19)];
          const other = i % 3 === 2 ? [1, 1, 1, shape[3]] : shape;
          const c = randomCase(r, kind, shape, other);
          expect(Array.from(run(build, kind, c)), `case ${i}: ${JSON.stringify({ ...c, a: 0, b: 0 })}`)
            .toEqual(Array.from(expected(kind, c)));
        }
      });

      it("broadcasts a smaller input (NumPy rules, up to 4-D)", () => {
        const r = rng(kind === "ADD" ? 21 : 22);
        for (const [sa, sb] of BROADCASTS) {
          const c = randomCase(r, kind, sa, sb);
          expect(Array.from(run(build, kind, c)), `${JSON.stringify(sa)} x ${JSON.stringify(sb)}`)
            .toEqual(Array.from(expected(kind, c)));
        }
      });

      it("writes in place (output sharing input 1's storage)", () => {
        const r = rng(kind === "ADD" ? 31 : 32);
        for (const [sa, sb] of [[[1, 8, 8, 16], [1, 8, 8, 16]], [[2, 3, 4, 5], [1, 1, 1, 5]]]) {
          const c = randomCase(r, kind, sa, sb);
          expect(Array.from(run(build, kind, c, true))).toEqual(Array.from(expected(kind, c)));
        }
      });
    });
  }

  describe(`ADD hand-derived (${build})`, () => {
    it("equal scales and zero points 0 add exactly", () => {
      // scale 1 everywhere: real sums, rounded. 10 + 20 = 30, -5 + 3 = -2, 100 + 100 saturates at 127.
      const c: Case = { shapeA: [3], shapeB: [3], qa: { scale: 1, zp: 0 }, qb: { scale: 1, zp: 0 },
        qo: { scale: 1, zp: 0 }, act: 0, a: Int8Array.from([10, -5, 100]), b: Int8Array.from([20, 3, 100]) };
      expect(Array.from(run(build, "ADD", c))).toEqual([30, -2, 127]);
    });
  });

  describe(`MUL hand-derived (${build})`, () => {
    it("scales 0.5 * 0.5 / 0.25 multiply the real values", () => {
      // real = 0.5 * (q - zp): (2 * 3) * 0.25 / 0.25 = 6 ; (-4 * 5) = -20 ; (20 * 20) = 400 -> 127
      const c: Case = { shapeA: [3], shapeB: [3], qa: { scale: 0.5, zp: 1 }, qb: { scale: 0.5, zp: -1 },
        qo: { scale: 0.25, zp: 0 }, act: 0, a: Int8Array.from([3, -3, 21]), b: Int8Array.from([2, 4, 19]) };
      expect(Array.from(run(build, "MUL", c))).toEqual([6, -20, 127]);
    });
  });
}

describe("ADD / MUL prepare", () => {
  const t = (sa: number[], sb: number[], so: number[], outScale = 0.1) => [
    tensor({ index: 0, shape: sa, scale: 0.1, zeroPoint: 0 }),
    tensor({ index: 1, shape: sb, scale: 0.1, zeroPoint: 0 }),
    tensor({ index: 2, shape: so, scale: outScale, zeroPoint: 0 }),
  ];
  const o = op({ opName: "ADD", inputs: [0, 1], outputs: [2], options: { fusedActivationFunction: 0 } });
  it("rejects shapes that do not broadcast", () => {
    expect(() => prepareOp(prepareAdd, t([2, 3], [3, 2], [2, 3]), o)).toThrow(/cannot be broadcast/);
    expect(() => prepareOp(prepareMul, t([4], [3], [4]), o)).toThrow(/cannot be broadcast/);
  });
  it("rejects an output shape that differs from the broadcast shape", () => {
    expect(() => prepareOp(prepareAdd, t([2, 1], [1, 3], [2, 2]), o)).toThrow(/broadcast shape/);
  });
  it("rejects broadcasting beyond 4-D", () => {
    expect(() => prepareOp(prepareAdd, t([2, 1, 1, 1, 3], [3], [2, 1, 1, 1, 3]), o)).toThrow(/rank 5/);
  });
  it("rejects an ADD output scale so small that TFLM's multiplier would exceed one", () => {
    expect(() => prepareOp(prepareAdd, t([4], [4], [4], 1e-9), o)).toThrow(/too small/);
  });
});
