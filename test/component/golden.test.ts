// Every TFLite Micro golden case (MLPerf Tiny and the extra models), bit-exact, through the kernel
// component (jco bindings; typed calls for loading, the core export for invoke) on every build.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadModel, type Model } from "../../host/index.js";
import { BUILDS } from "../helpers/kernel-harness.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";
import { goldenCases, runGoldenCase } from "../helpers/golden.js";

const cases = goldenCases();

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
        const bad = runGoldenCase(m, c);
        expect(bad.slice(0, 5)).toEqual([]);
      });
    }
  }
});
