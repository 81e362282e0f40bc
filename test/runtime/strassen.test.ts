// The Strassen option end to end: a GEMM-shaped FULLY_CONNECTED (32 rows x 256 -> 256) loads
// with one level of Strassen by default, gives the reference's bytes with and without it on every
// build, costs the weight memory it says, and steps aside when a memory budget needs it to.
import { describe, expect, it } from "vitest";
import { loadModel, loadModelSync, type Model } from "../../host/index.js";
import { supportedBuilds } from "../../host/wasm/kernels.js";
import { gemmExpected, gemmInput as input, gemmModel } from "../helpers/gemm-model.js";

function run(m: Model): Int8Array {
  (m.input(0) as Int8Array).set(input);
  m.invoke();
  return Int8Array.from(m.output(0) as Int8Array);
}

describe("Strassen FULLY_CONNECTED through loadModel", () => {
  const bytes = gemmModel();
  const want = gemmExpected();

  it("every build, with and without Strassen, gives the reference's bytes", async () => {
    expect(new Set(want).size, "outputs spread over many values").toBeGreaterThan(20);
    for (const kernels of supportedBuilds()) {
      for (const strassen of [undefined, false, true]) {
        const m = loadModelSync(bytes, { kernels, strassen });
        expect(Array.from(run(m)), `${kernels} strassen ${strassen}`).toEqual(Array.from(want));
      }
      expect(Array.from(run(await loadModel(bytes, { kernels }))), `${kernels} via loadModel`).toEqual(Array.from(want));
    }
  });

  it.each(supportedBuilds())("is on by default (%s) and its weight sums show in the memory report", (kernels) => {
    const on = loadModelSync(bytes, { kernels });
    const off = loadModelSync(bytes, { kernels, strassen: false });
    // The int16 pair layout (N x K x 2 bytes = 131072) becomes seven (N/2) x (K/2) int16 blocks (229376).
    expect(on.memory.weightBytes - off.memory.weightBytes).toBe(229376 - 131072);
  });

  it.each(supportedBuilds())("falls back to the pair layout when only Strassen breaks maxMemoryBytes (%s)", (kernels) => {
    const off = loadModelSync(bytes, { kernels, strassen: false });
    const on = loadModelSync(bytes, { kernels });
    expect(on.memory.wasmMemoryBytes).toBeGreaterThan(off.memory.wasmMemoryBytes);
    const m = loadModelSync(bytes, { kernels, maxMemoryBytes: off.memory.wasmMemoryBytes });
    expect(m.memory.weightBytes).toBe(off.memory.weightBytes);
    expect(Array.from(run(m))).toEqual(Array.from(want));
    // Asked for explicitly, Strassen is not dropped silently.
    expect(() => loadModelSync(bytes, { kernels, strassen: true, maxMemoryBytes: off.memory.wasmMemoryBytes })).toThrow(/memory/i);
  });
});
