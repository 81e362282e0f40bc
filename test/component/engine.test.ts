// The kernel component through jco's bindings: the typed WIT calls (wit/kernels.wit), the raw
// core export on the same instance, and the Model load path (component by default, core on request).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { runCommand } from "../../host/cli/run.js";
import { loadModel, loadModelSync, InvalidArgumentError, KernelBuildError } from "../../host/index.js";
import { instantiateComponentKernels, componentKernelsReady, HOST_ABI_VERSION } from "../../host/wasm/component.js";
import { OP_COPY, OP_HEADER_WORDS } from "../../assembly/abi.js";
import { tinyFcGraph } from "../helpers/tflite-builder.js";
import { BUILDS } from "../helpers/kernel-harness.js";
import { builtManifest, ROOT } from "./dist.js";

const pkgVersion = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

describe("kernel component: typed WIT calls", () => {
  builtManifest();
  for (const build of BUILDS) {
    it(`${build}: version, ABI, features and heap base`, async () => {
      const k = await instantiateComponentKernels(build);
      expect(k.build).toBe(build);
      expect(k.engine.version()).toBe(pkgVersion);
      expect(k.engine.abiVersion()).toBe(HOST_ABI_VERSION);
      expect(k.engine.features()).toEqual({ simd: build !== "scalar", relaxedSimd: build === "relaxed" });
      expect(k.engine.heapBase()).toBe(k.exports.heapBase());
      expect(k.engine.memorySize()).toBe(BigInt(k.memory.buffer.byteLength));
    });
  }

  it("load-weights places the image once, 16-aligned at the heap base; setup-arena follows it", async () => {
    const k = await instantiateComponentKernels("scalar");
    const e = k.engine;
    const image = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 7) & 255); // over one page: memory grows
    const w = e.loadWeights(image);
    expect(w.address()).toBe(Math.ceil(e.heapBase() / 16) * 16);
    expect(w.size()).toBe(image.byteLength);
    expect(new Uint8Array(k.memory.buffer, w.address(), image.byteLength)).toEqual(image);
    const arena = e.setupArena(w, 1000);
    expect(arena).toBe(Math.ceil((w.address() + w.size()) / 16) * 16);
    expect(Number(e.memorySize())).toBeGreaterThanOrEqual(arena + 1000);
    expect(k.memory.buffer.byteLength).toBe(Number(e.memorySize()));
  });

  it("write and read move bytes within reserved memory; outside it they fail with out-of-bounds", async () => {
    const k = await instantiateComponentKernels("scalar");
    const e = k.engine;
    const w = e.loadWeights(new Uint8Array(32));
    const arena = e.setupArena(w, 64);
    e.write(arena + 8, Uint8Array.of(1, 2, 3));
    expect(Array.from(e.read(arena + 6, 6))).toEqual([0, 0, 1, 2, 3, 0]);
    const err = (f: () => unknown) => { try { f(); } catch (x) { return (x as { payload?: unknown }).payload; } return "no error"; };
    expect(err(() => e.write(arena + 60, Uint8Array.of(1, 2, 3, 4, 5)))).toBe("out-of-bounds");
    expect(err(() => e.write(8, Uint8Array.of(1)))).toBe("out-of-bounds"); // below the heap: static data
    expect(err(() => e.read(arena, 65))).toBe("out-of-bounds");
    // A refused write leaves the reserved memory as it was, and later writes still work.
    e.write(arena, Uint8Array.of(9));
    expect(Array.from(e.read(arena, 1))).toEqual([9]);
  });

  it("setup-arena refuses weights that are no longer at the top of the heap", async () => {
    const k = await instantiateComponentKernels("scalar");
    const e = k.engine;
    const first = e.loadWeights(new Uint8Array(16));
    e.loadWeights(new Uint8Array(16));
    let code: unknown = null;
    try { e.setupArena(first, 16); } catch (x) { code = (x as { payload?: unknown }).payload; }
    expect(code).toBe("invalid-state");
  });

  it("typed run and the raw core export run the same program on the same memory", async () => {
    const k = await instantiateComponentKernels(BUILDS.includes("simd") ? "simd" : "scalar");
    const e = k.engine;
    const w = e.loadWeights(new Uint8Array(0));
    const at = e.setupArena(w, 256);
    const src = at, dst = at + 64, prog = at + 128;
    e.write(src, Uint8Array.from({ length: 20 }, (_, i) => i + 1));
    // One COPY block: [op, n, src, dst, bytes] (assembly/kernels/copy.ts).
    const block = Int32Array.of(OP_COPY, 3, src, dst, 20);
    e.write(prog, new Uint8Array(block.buffer));
    expect(e.run(prog, 1)).toBe(prog + (OP_HEADER_WORDS + 3) * 4);
    expect(Array.from(e.read(dst, 20))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    new Uint8Array(k.memory.buffer, dst, 20).fill(0);
    expect(k.exports.run(prog, 1)).toBe(prog + (OP_HEADER_WORDS + 3) * 4);
    expect(Array.from(new Uint8Array(k.memory.buffer, dst, 20))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe("loadModel: component by default, plain core on request", () => {
  const bytes = tinyFcGraph().build();

  it("the components are built and current", () => {
    expect(componentKernelsReady()).toBe(true);
  });

  it("loadModel uses the component; instantiation 'core' the plain module; both give the same output", async () => {
    const c = await loadModel(bytes);
    const p = await loadModel(bytes, { instantiation: "core" });
    expect(c.instantiation).toBe("component");
    expect(p.instantiation).toBe("core");
    expect(c.kernels).toBe(p.kernels);
    for (const m of [c, p]) { m.input(0).set([12, -7, 100, -128] as never); m.invoke(); }
    expect(Array.from(c.output(0))).toEqual(Array.from(p.output(0)));
    expect(c.memory).toEqual(p.memory);
  });

  it("loadModelSync stays on the core module and refuses 'component' with a typed error", () => {
    expect(loadModelSync(bytes).instantiation).toBe("core");
    expect(() => loadModelSync(bytes, { instantiation: "component" })).toThrow(InvalidArgumentError);
  });

  it("an unknown instantiation is an InvalidArgumentError", async () => {
    await expect(loadModel(bytes, { instantiation: "wasi" as never })).rejects.toThrow(InvalidArgumentError);
  });

  it("an unknown kernel build is an InvalidArgumentError on the component path too", async () => {
    await expect(loadModel(bytes, { kernels: "avx512" as never, instantiation: "component" })).rejects.toThrow(InvalidArgumentError);
  });

  it("a component older than the plain core module is refused (KernelBuildError), not run", async () => {
    const { mkdtempSync, writeFileSync, cpSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "qedge-stale-"));
    const m = builtManifest();
    m.components = m.components.map((c) => (c.kind === "kernels" ? { ...c, plainCore: "0".repeat(64) } : c));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
    cpSync(join(ROOT, "dist", "component"), join(dir, "component"), { recursive: true });
    await expect(instantiateComponentKernels("scalar", { dir })).rejects.toThrow(/older than dist\/wasm\/kernels-scalar\.wasm/);
    await expect(instantiateComponentKernels("scalar", { dir })).rejects.toThrow(KernelBuildError);
  });
});

describe("qedge run: component by default, --plain-core for the core module", () => {
  afterEach(() => vi.restoreAllMocks());
  it("both give the same output bytes and say which instantiation ran", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qedge-run-"));
    const model = join(dir, "fc.tflite"), input = join(dir, "in.bin");
    writeFileSync(model, tinyFcGraph().build());
    writeFileSync(input, Int8Array.of(3, -9, 44, 127, -128, 0, 5, 6));
    const err: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...a) => { err.push(a.join(" ")); });
    expect(await runCommand([model, "-i", input, "-o", join(dir, "c.bin")])).toBe(0);
    expect(await runCommand([model, "-i", input, "-o", join(dir, "p.bin"), "--plain-core"])).toBe(0);
    expect(err[0]).toMatch(/kernels=\w+ \(component\)/);
    expect(err[1]).toMatch(/kernels=\w+ \(core\)/);
    expect(readFileSync(join(dir, "c.bin"))).toEqual(readFileSync(join(dir, "p.bin")));
    expect(readFileSync(join(dir, "c.bin")).byteLength).toBe(6);
  });
});
