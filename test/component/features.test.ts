// A kernel component that needs a feature the engine lacks is refused with a KernelBuildError
// naming the feature, not a crash. The shipped relaxed build uses no relaxed-SIMD instruction, so
// the test makes one that does (one relaxed instruction added to the relaxed core), and switches
// V8's relaxed SIMD off for the duration, as on a Node 20 started without the flag.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKernelComponent, transpileKernels } from "../../host/build/component.js";
import { componentCoreModules, detectFeatures, loadBinaryen } from "../../host/wasm/features.js";
import { chooseComponentBuild, instantiateComponentKernels, isComponentBuildSupported } from "../../host/wasm/component.js";
import { KernelBuildError } from "../../host/errors.js";
import { builtManifest, DIST, ROOT } from "./dist.js";

/** The relaxed kernel core with a start function that uses i32x4.relaxed_dot_i8x16_i7x16_add_s. */
async function withRelaxedInstruction(core: Uint8Array): Promise<Uint8Array> {
  const b = await loadBinaryen();
  const m = b.readBinary(core);
  try {
    m.setFeatures(b.Features.MutableGlobals | b.Features.SignExt | b.Features.NontrappingFPToInt | b.Features.BulkMemory
      | b.Features.BulkMemoryOpt | b.Features.Multivalue | b.Features.SIMD128 | b.Features.RelaxedSIMD);
    const zero = m.v128.const([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // binaryen.js has no wrapper for this one: build the expression through its C API.
    const api = b as unknown as { _BinaryenSIMDTernary(mod: number, op: number, a: number, b: number, c: number): number; RelaxedDotI8x16I7x16AddSToVecI32x4: number };
    const dot = api._BinaryenSIMDTernary((m as unknown as { ptr: number }).ptr, api.RelaxedDotI8x16I7x16AddSToVecI32x4,
      zero, m.v128.const(new Array(16).fill(1)), m.v128.const(new Array(16).fill(0)));
    const fn = m.addFunction("needs_relaxed_simd", b.none, b.none, [], m.drop(dot));
    m.setStart(fn);
    if (!m.validate()) throw new Error("test module does not validate");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

describe("a component needing a feature the engine lacks", () => {
  const dir = mkdtempSync(join(tmpdir(), "qedge-features-"));

  beforeAll(async () => {
    const manifest = builtManifest();
    const relaxed = manifest.components.find((c) => c.kind === "kernels" && c.build === "relaxed");
    const core = await withRelaxedInstruction(componentCoreModules(new Uint8Array(readFileSync(join(DIST, relaxed.file))))[0]);
    const { component } = await makeKernelComponent(core, readFileSync(join(ROOT, "wit/kernels.wit"), "utf8"));
    const bindings = await transpileKernels(component, "kernels-relaxed");
    for (const [f, bytes] of Object.entries(bindings)) {
      const p = join(dir, "component", "kernels-relaxed", f);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, bytes);
    }
    const { plainCore: _ignored, ...entry } = relaxed;
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, components: [{ ...entry, features: await detectFeatures(core) }] }));
    setFlagsFromString("--no-experimental-wasm-relaxed-simd");
  });
  afterAll(() => setFlagsFromString("--experimental-wasm-relaxed-simd"));

  it("the test component really uses relaxed SIMD", () => {
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(m.components[0].features).toContain("relaxed-simd");
  });

  it("is reported unsupported", () => {
    expect(isComponentBuildSupported("relaxed", { dir })).toBe(false);
  });

  it("asking for it throws KernelBuildError naming the feature and the Node flag", async () => {
    const err = await instantiateComponentKernels("relaxed", { dir }).catch((e) => e);
    expect(err).toBeInstanceOf(KernelBuildError);
    expect(err.message).toMatch(/kernel component 'relaxed' needs .*relaxed-simd.*rejects it \(Node 20 needs --experimental-wasm-relaxed-simd\)/);
  });

  it("auto finds no usable build among those present, with a KernelBuildError", () => {
    expect(() => chooseComponentBuild("auto", { dir })).toThrow(KernelBuildError);
  });

  it("with relaxed SIMD back on, the same component loads", async () => {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
    try {
      const k = await instantiateComponentKernels("relaxed", { dir });
      expect(k.engine.features()).toEqual({ simd: true, relaxedSimd: true });
    } finally {
      setFlagsFromString("--no-experimental-wasm-relaxed-simd");
    }
  });
});
