// Every TFLite Micro golden case (MLPerf Tiny and the extra models), bit-exact, through the kernel
// component (jco bindings; typed calls for loading, the core export for invoke) on every build.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadModel, type Model } from "../../host/index.js";
import { BUILDS } from "../helpers/kernel-harness.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";
import { goldenCases, firstDiff } from "../helpers/golden.js";

const cases = goldenCases();
const asI8 = (b: Buffer) => new Int8Array(b.buffer, b.byteOffset, b.byteLength);

describe.skipIf(!SHARED)(`TFLM golden outputs through the kernel component${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  it("found the MLPerf Tiny cases", () => {
    expect(cases.filter((c) => c.suite === "mlperf-tiny").length).toBeGreaterThanOrEqual(4);
  });
  for (const build of BUILDS) {
    const models = new Map<string, Promise<Model>>();
    const get = (path: string) => {
      let m = models.get(path);
      if (!m) {
        m = loadModel(new Uint8Array(readFileSync(path)), { kernels: build, instantiation: "component" });
        models.set(path, m);
      }
      return m;
    };
    for (const c of cases) {
      it(`component ${build}: ${c.name}${c.batch > 1 ? ` (${c.batch} rows)` : ""}`, async () => {
        const m = await get(c.modelPath);
        expect(m.instantiation).toBe("component");
        expect(m.kernels).toBe(build);
        const input = asI8(readFileSync(c.inputPath));
        const golden = asI8(readFileSync(c.goldenPath));
        const inView = m.input(0), outView = m.output(0);
        const inN = inView.byteLength, outN = outView.byteLength;
        expect(input.byteLength).toBe(inN * c.batch);
        expect(golden.byteLength).toBe(outN * c.batch);
        const bad: string[] = [];
        for (let r = 0; r < c.batch; r++) {
          m.reset();
          new Int8Array(inView.buffer, inView.byteOffset, inN).set(input.subarray(r * inN, (r + 1) * inN));
          m.invoke();
          const d = firstDiff(new Int8Array(outView.buffer, outView.byteOffset, outN), golden.subarray(r * outN, (r + 1) * outN));
          if (d) bad.push(`row ${r}: ${d}`);
        }
        expect(bad.slice(0, 5)).toEqual([]);
      });
    }
  }
});
