// Every model in ../shared loads and runs on every kernel build, and all builds produce the same
// bytes on seeded random inputs (stateful models: several invokes in a row, state carried over).
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "../../host/index.js";
import { BUILDS, rng } from "../helpers/kernel-harness.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";

function modelFiles(): string[] {
  if (!SHARED) return [];
  const out: string[] = [];
  for (const sub of ["models/mlperf-tiny", "models/extra", "models/extra/float-io"]) {
    const dir = join(SHARED, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith(".tflite")) out.push(join(dir, f));
  }
  return out;
}

function fillRandom(view: ArrayBufferView, r: () => number): void {
  if (view instanceof Float32Array) { for (let i = 0; i < view.length; i++) view[i] = r(); return; }
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.floor(r() * 256);
}

describe.skipIf(!SHARED)(`all shared models run, identical on every build${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  for (const file of modelFiles()) {
    const name = file.slice(file.indexOf("models/") + 7);
    it(name, () => {
      const bytes = new Uint8Array(readFileSync(file));
      const results = BUILDS.map((build) => {
        const m = loadModelSync(bytes, { kernels: build });
        const r = rng(1234);
        const outs: number[][] = [];
        for (let step = 0; step < 3; step++) {
          for (let i = 0; i < m.inputs.length; i++) fillRandom(m.input(i), r);
          m.invoke();
          for (let i = 0; i < m.outputs.length; i++) {
            const o = m.output(i);
            outs.push(Array.from(new Uint8Array(o.buffer, o.byteOffset, o.byteLength)));
          }
        }
        return outs;
      });
      for (let b = 1; b < BUILDS.length; b++) expect(results[b], `${BUILDS[b]} vs ${BUILDS[0]}`).toEqual(results[0]);
    });
  }
});
