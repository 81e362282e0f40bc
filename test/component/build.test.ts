// The component build: manifest, validity of each component (decoded again with the wasm-tools
// bundled in jco), the WIT's documentation, and reproducibility (same sources -> same bytes).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { componentWit } from "@bytecodealliance/jco";
import { buildKernelComponent, ENGINE, KERNEL_EXPORTS, WORLD_ID } from "../../host/build/component.js";
import { componentCoreModules } from "../../host/wasm/features.js";
import { builtManifest, DIST as dist, ROOT as root } from "./dist.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const read = (p: string) => new Uint8Array(readFileSync(p));

describe("component build (dist/, from npm run build)", () => {
  const manifest = builtManifest();
  const entries: any[] = manifest.components;

  it("lists the three kernel builds and the self-test commands", () => {
    expect(entries.filter((e) => e.kind === "kernels").map((e) => e.build)).toEqual(["scalar", "simd", "relaxed"]);
    expect(entries.filter((e) => e.kind === "selftest-command").map((e) => e.file))
      .toEqual(["qedge-selftest.component.wasm", "qedge-selftest-simd.component.wasm"]);
    expect(manifest.wit.world).toBe("qedge:kernels/kernels@0.1.0");
    expect(manifest.wit.sha256).toBe(sha(read(join(root, "wit/kernels.wit"))));
    expect(manifest.qedge).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  });

  for (const name of ["kernels-scalar", "kernels-simd", "kernels-relaxed", "qedge-selftest", "qedge-selftest-simd"]) {
    it(`${name}.component.wasm: size and sha256 as in the manifest`, () => {
      const file = `${name}.component.wasm`;
      const e = entries.find((x) => x.file === file);
      const bytes = read(join(dist, file));
      expect(e.size).toBe(bytes.byteLength);
      expect(e.sha256).toBe(sha(bytes));
    });
  }

  it("declares the features each build is allowed: scalar no SIMD, simd with SIMD, relaxed at most relaxed SIMD on top", () => {
    const f = (b: string) => entries.find((e) => e.kind === "kernels" && e.build === b).features as string[];
    expect(f("scalar")).not.toContain("simd");
    expect(f("scalar")).not.toContain("relaxed-simd");
    expect(f("simd")).toContain("simd");
    expect(f("simd")).not.toContain("relaxed-simd");
    expect(f("relaxed")).toContain("simd");
    const baseline = ["mutable-globals", "sign-ext", "nontrapping-fptoint", "bulk-memory", "multivalue"];
    for (const b of ["scalar", "simd", "relaxed"]) {
      expect(f(b).filter((x) => !baseline.includes(x) && x !== "simd" && x !== "relaxed-simd")).toEqual([]);
    }
  });

  for (const build of ["scalar", "simd", "relaxed"]) {
    it(`kernels-${build}: decodes as a component exporting only ${ENGINE} and importing nothing`, async () => {
      const bytes = read(join(dist, `kernels-${build}.component.wasm`));
      const wit = await componentWit(bytes);
      expect(wit).toMatch(/export qedge:kernels\/engine@0\.1\.0;/);
      expect(wit).not.toMatch(/\bimport\b/);
      const e = entries.find((x) => x.file === `kernels-${build}.component.wasm`);
      expect(e.world).toBe(WORLD_ID);
      expect(e.imports).toEqual([]);
      expect(e.exports).toEqual([ENGINE]);
      // Its main core module carries the canonical-ABI names and nothing else.
      const core = componentCoreModules(bytes)[0];
      const names = WebAssembly.Module.exports(new WebAssembly.Module(core as Uint8Array<ArrayBuffer>)).map((x) => x.name).sort();
      expect(names).toEqual(Object.values(KERNEL_EXPORTS).sort());
      expect(WebAssembly.Module.imports(new WebAssembly.Module(core as Uint8Array<ArrayBuffer>)).map((i) => `${i.module} ${i.name}`))
        .toEqual([`[export]${ENGINE} [resource-new]weights`]);
    });
  }

  it("the self-test command is a wasi:cli command", async () => {
    const wit = await componentWit(read(join(dist, "qedge-selftest.component.wasm")));
    expect(wit).toMatch(/export wasi:cli\/run@0\.2\.\d+;/);
    expect(wit).toMatch(/import wasi:cli\/stdout@/);
  });
});

describe("wit/kernels.wit", () => {
  const wit = readFileSync(join(root, "wit/kernels.wit"), "utf8").split("\n");
  it("documents every function, type and resource", () => {
    const undocumented: string[] = [];
    wit.forEach((line, i) => {
      const m = /^\s*(?:([a-z][a-z0-9-]*)\s*:\s*func\b|(?:flags|enum|resource|record|variant|interface|world)\s+([a-z][a-z0-9-]*))/.exec(line);
      if (m && !/^\s*\/\/\//.test(wit[i - 1] ?? "")) undocumented.push(m[1] ?? m[2]);
    });
    expect(undocumented).toEqual([]);
  });
  it("the world imports nothing", () => {
    const world = wit.join("\n").slice(wit.join("\n").indexOf("world kernels"));
    expect(world).not.toMatch(/\bimport\b/);
  });
});

describe("reproducible build", () => {
  it("building the scalar component twice gives identical bytes", async () => {
    const witSource = readFileSync(join(root, "wit/kernels.wit"), "utf8");
    const a = await buildKernelComponent("scalar", witSource);
    const b = await buildKernelComponent("scalar", witSource);
    expect(sha(a.component)).toBe(sha(b.component));
    expect(sha(a.core)).toBe(sha(b.core));
    expect(Object.keys(a.bindings)).toEqual(Object.keys(b.bindings));
    for (const f of Object.keys(a.bindings)) expect(sha(a.bindings[f])).toBe(sha(b.bindings[f]));
  });
});
