// Every TFLite Micro golden case, bit-exact, on every kernel build; and the per-layer dumps
// compared operator by operator (the first differing layer names the bug).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadModelSync, type Model } from "../../host/index.js";
import { BUILDS } from "../helpers/kernel-harness.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";
import { goldenCases, layerDumps, firstDiff, runGoldenCase } from "../helpers/golden.js";

const cases = goldenCases();
const dumps = layerDumps();
const asI8 = (b: Buffer) => new Int8Array(b.buffer, b.byteOffset, b.byteLength);

describe.skipIf(!SHARED)(`TFLM golden outputs${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  it("found the golden cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });
  for (const build of BUILDS) {
    const models = new Map<string, Model>();
    const get = (path: string) => {
      let m = models.get(path);
      if (!m) { m = loadModelSync(new Uint8Array(readFileSync(path)), { kernels: build }); models.set(path, m); }
      return m;
    };
    for (const c of cases) {
      it(`${build}: ${c.name}${c.batch > 1 ? ` (${c.batch} rows)` : ""}`, () => {
        const m = get(c.modelPath);
        const bad = runGoldenCase(m, c);
        expect(bad.slice(0, 5)).toEqual([]);
      });
    }
  }
});

describe.skipIf(!SHARED)(`TFLM per-layer dumps${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  for (const build of BUILDS) {
    for (const d of dumps) {
      it(`${build}: ${d.caseName}, every layer`, () => {
        const m = loadModelSync(new Uint8Array(readFileSync(d.modelPath)), { kernels: build });
        const input = asI8(readFileSync(d.inputPath));
        m.input(0).set(input.subarray(0, m.input(0).length) as never);
        const mismatches: string[] = [];
        const byOp = new Map(d.layers.map((l) => [l.opIndex, l]));
        m.invokeStepwise((i) => {
          const l = byOp.get(i);
          if (!l) return;
          const got = m.tensor(l.outputTensor)!;
          const want = asI8(readFileSync(l.file));
          const diff = firstDiff(new Int8Array(got.buffer, got.byteOffset, got.byteLength), want);
          if (diff) mismatches.push(`op ${i} ${l.op} -> t${l.outputTensor}: ${diff}`);
        });
        // Only the first mismatch matters: later layers inherit it.
        expect(mismatches.slice(0, 1)).toEqual([]);
      });
    }
  }
});
