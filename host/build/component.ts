// Builds the kernels as standard WebAssembly components (part of `npm run build`):
//   AssemblyScript (assembly/component.ts, one compile per kernel build)
//   -> binaryen.js: canonical-ABI export names, unused exports dropped, feature set checked, stripped
//   -> jco componentEmbed (wit/kernels.wit, world `kernels`) + componentNew
//   -> checked by decoding it again with jco's bundled wasm-tools (world, no imports)
//   -> jco transpile (instantiation "sync": the host supplies instantiateCore and keeps the core instance)
// plus the WASI self-test command (assembly/selftest-command.ts + jco's preview1 command adapter)
// and dist/manifest.json (sha256, size, features, world of each component).
// Same sources -> same bytes: nothing here depends on time, paths or ordering of the file system.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { KernelBuildError } from "../errors.js";
import { worldLines } from "../wasm/component-info.js";
import { detectFeatures, featureMask, loadBinaryen, type WasmFeature } from "../wasm/features.js";
import type { KernelBuild } from "../wasm/kernels.js";

export const KERNEL_BUILDS: readonly KernelBuild[] = ["scalar", "simd", "relaxed"];
export const WIT_FILE = "wit/kernels.wit";
export const WORLD = "kernels";
export const WORLD_ID = "qedge:kernels/kernels@0.1.0";
export const ENGINE = "qedge:kernels/engine@0.1.0";

/** AssemblyScript export -> canonical-ABI name in the component's core module. Others are dropped. */
export const KERNEL_EXPORTS: Readonly<Record<string, string>> = {
  memory: "memory",
  cabi_realloc: "cabi_realloc",
  run: `${ENGINE}#run`,
  heapBase: `${ENGINE}#heap-base`,
  features: `${ENGINE}#features`,
  engineVersion: `${ENGINE}#version`,
  engineAbiVersion: `${ENGINE}#abi-version`,
  engineMemorySize: `${ENGINE}#memory-size`,
  engineLoadWeights: `${ENGINE}#load-weights`,
  engineSetupArena: `${ENGINE}#setup-arena`,
  engineWrite: `${ENGINE}#write`,
  engineRead: `${ENGINE}#read`,
  weightsAddress: `${ENGINE}#[method]weights.address`,
  weightsSize: `${ENGINE}#[method]weights.size`,
  weightsDrop: `${ENGINE}#[dtor]weights`,
};

/** The self-test command keeps only what the preview1 command adapter calls. */
export const COMMAND_EXPORTS: Readonly<Record<string, string>> = { memory: "memory", _start: "_start" };

/** Features every build may use (AssemblyScript's defaults), and what each build must / may add. */
const BASELINE: readonly WasmFeature[] = ["mutable-globals", "sign-ext", "nontrapping-fptoint", "bulk-memory", "multivalue"];
export const BUILD_FEATURES: Readonly<Record<KernelBuild, { required: WasmFeature[]; allowed: WasmFeature[] }>> = {
  scalar: { required: [], allowed: [...BASELINE] },
  simd: { required: ["simd"], allowed: [...BASELINE, "simd"] },
  relaxed: { required: ["simd"], allowed: [...BASELINE, "simd", "relaxed-simd"] },
};

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The repository root, from the source tree (host/build) or the built one (dist/host/build). */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.endsWith(join("dist", "host", "build")) ? "../../.." : "../..");
}

/** Compile an AssemblyScript entry with the asconfig.json target `target`, in memory. */
export async function compileAssembly(entry: string, target: KernelBuild): Promise<Uint8Array> {
  const asc = (await import("assemblyscript/asc")).default;
  const root = repoRoot();
  let binary: Uint8Array | null = null;
  const errors: string[] = [];
  const sink = (into: string[] | null) => ({ write(s: string | Uint8Array) { into?.push(String(s)); return true; } });
  const { error } = await asc.main([
    join(root, entry), "--config", join(root, "asconfig.json"), "--target", target, "--outFile", "out.wasm",
  ], {
    writeFile(name, contents) { if (name.endsWith(".wasm")) binary = contents as Uint8Array; },
    stdout: sink(null), stderr: sink(errors),
  } as Parameters<typeof asc.main>[1]);
  if (error || !binary) throw new KernelBuildError(`asc ${entry} --target ${target} failed: ${error?.message ?? "no output"}\n${errors.join("")}`);
  return binary;
}

/**
 * Rename exports to their canonical-ABI names (dropping the rest), check the features used
 * against the build's allowance, and strip debug/producer sections. `_initialize` (AssemblyScript's
 * start function) is dropped when empty and becomes the start function otherwise.
 */
export async function finishCore(raw: Uint8Array, names: Readonly<Record<string, string>>, build: KernelBuild):
  Promise<{ core: Uint8Array; features: WasmFeature[] }> {
  const features = await detectFeatures(raw);
  const { required, allowed } = BUILD_FEATURES[build];
  const extra = features.filter((f) => !allowed.includes(f));
  const missing = required.filter((f) => !features.includes(f));
  if (extra.length) throw new KernelBuildError(`the ${build} build uses ${extra.join(", ")}, which it must not`);
  if (missing.length) throw new KernelBuildError(`the ${build} build does not use ${missing.join(", ")}; was it compiled with the wrong flags?`);

  const b = await loadBinaryen();
  const m = b.readBinary(raw);
  m.setFeatures(featureMask(b, features));
  try {
    const exports = Array.from({ length: m.getNumExports() }, (_, i) => b.getExportInfo(m.getExportByIndex(i)));
    for (const e of exports) m.removeExport(e.name);
    for (const e of exports) {
      const name = names[e.name];
      if (e.kind === b.ExternalFunction && e.name === "_initialize") {
        const body = b.getExpressionInfo(b.getFunctionInfo(m.getFunction(e.value)).body);
        if (body.id !== b.NopId && !(body.id === b.BlockId && (body as unknown as { children: number[] }).children.length === 0)) {
          m.setStart(m.getFunction(e.value));
        }
        continue;
      }
      if (!name) continue;
      if (e.kind === b.ExternalFunction) m.addFunctionExport(e.value, name);
      else if (e.kind === b.ExternalMemory) m.addMemoryExport(e.value, name);
      else throw new KernelBuildError(`unexpected export kind ${e.kind} for ${e.name}`);
    }
    const have = new Set(exports.map((e) => e.name));
    const absent = Object.keys(names).filter((n) => !have.has(n));
    if (absent.length) throw new KernelBuildError(`the module does not export ${absent.join(", ")}`);
    m.runPasses(["remove-unused-module-elements", "strip-debug", "strip-producers", "strip-target-features"]);
    // Only the features in use: binaryen with every feature on emits encodings jco rejects.
    m.setFeatures(featureMask(b, features));
    if (!m.validate()) throw new KernelBuildError(`the ${build} core module does not validate after renaming`);
    return { core: m.emitBinary(), features };
  } finally {
    m.dispose();
  }
}

/** core module + wit/kernels.wit -> kernel component, checked by decoding it again. */
export async function makeKernelComponent(core: Uint8Array, witSource: string): Promise<{ component: Uint8Array; wit: string }> {
  const { componentEmbed, componentNew, componentWit } = await import("@bytecodealliance/jco");
  const embedded = await componentEmbed({ binary: core, witSource, world: WORLD });
  const component = await componentNew(embedded); // wit-component validates what it produces
  const wit = await componentWit(component);
  const { imports, exports } = worldLines(wit);
  if (imports.length) throw new KernelBuildError(`the kernel component imports ${imports.join(", ")}; it must import nothing`);
  if (exports.join() !== ENGINE) throw new KernelBuildError(`the kernel component exports [${exports.join(", ")}], expected ${ENGINE}`);
  return { component, wit };
}

/** JS bindings + core wasm for Node, instantiation mode "sync"; file names relative to the output folder. */
export async function transpileKernels(component: Uint8Array, name: string): Promise<Record<string, Uint8Array>> {
  const { transpile } = await import("@bytecodealliance/jco");
  const { files } = await transpile(component, { name, instantiation: "sync", quiet: true, outDir: "." });
  return Object.fromEntries(Object.entries(files).map(([f, v]) => [f.replace(/^(\.\/)+/, ""), v]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Preview1 command module -> WASI command component (jco's bundled preview1 command adapter). */
export async function makeCommandComponent(core: Uint8Array): Promise<{ component: Uint8Array; wit: string }> {
  const { componentNew, componentWit, preview1AdapterCommandPath } = await import("@bytecodealliance/jco");
  const adapter = new Uint8Array(readFileSync(preview1AdapterCommandPath()));
  const component = await componentNew(core, [["wasi_snapshot_preview1", adapter]]);
  return { component, wit: await componentWit(component) };
}

export interface ManifestEntry {
  file: string;
  kind: "kernels" | "selftest-command";
  build: KernelBuild;
  world: string;
  sha256: string;
  size: number;
  features: WasmFeature[];
  imports: string[];
  exports: string[];
  core: { sha256: string; size: number };
  /** Transpiled JS bindings (kernels only), relative to the manifest. */
  bindings?: string;
  /** sha256 of wasm/kernels-<build>.wasm beside the manifest when this was built (the loader's freshness check). */
  plainCore?: string;
}

export interface Manifest {
  qedge: string;
  wit: { file: string; sha256: string; world: string };
  components: ManifestEntry[];
}

export interface BuiltKernels {
  build: KernelBuild;
  core: Uint8Array;
  features: WasmFeature[];
  component: Uint8Array;
  wit: string;
  bindings: Record<string, Uint8Array>;
}

/** One kernel build, all in memory. */
export async function buildKernelComponent(build: KernelBuild, witSource: string): Promise<BuiltKernels> {
  const { core, features } = await finishCore(await compileAssembly("assembly/component.ts", build), KERNEL_EXPORTS, build);
  const { component, wit } = await makeKernelComponent(core, witSource);
  const bindings = await transpileKernels(component, `kernels-${build}`);
  return { build, core, features, component, wit, bindings };
}

const COMMAND_WORLD = (wit: string) => {
  const run = worldLines(wit).exports.find((e) => e.startsWith("wasi:cli/run"));
  return run ? run.replace("wasi:cli/run", "wasi:cli/command") : "wasi:cli/command";
};

/** Build every component into `outDir` (normally dist/) and write its manifest.json. */
export async function buildComponents(outDir: string, log: (s: string) => void = () => {}): Promise<Manifest> {
  const root = repoRoot();
  const witSource = readFileSync(join(root, WIT_FILE), "utf8");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const entries: ManifestEntry[] = [];
  mkdirSync(outDir, { recursive: true });
  const write = (rel: string, bytes: Uint8Array | string) => {
    const p = join(outDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  };
  for (const build of KERNEL_BUILDS) {
    const k = await buildKernelComponent(build, witSource);
    const file = `kernels-${build}.component.wasm`;
    write(file, k.component);
    const bindingsDir = `component/kernels-${build}`;
    rmSync(join(outDir, bindingsDir), { recursive: true, force: true });
    for (const [name, bytes] of Object.entries(k.bindings)) write(join(bindingsDir, name), bytes);
    const { imports, exports } = worldLines(k.wit);
    const plain = join(outDir, "wasm", `kernels-${build}.wasm`);
    entries.push({
      file, kind: "kernels", build, world: WORLD_ID, sha256: sha256(k.component), size: k.component.byteLength,
      features: k.features, imports, exports, core: { sha256: sha256(k.core), size: k.core.byteLength },
      bindings: `${bindingsDir}/kernels-${build}.js`,
      ...(existsSync(plain) ? { plainCore: sha256(readFileSync(plain)) } : {}),
    });
    log(`${file}: ${k.component.byteLength} bytes, features ${k.features.join(", ")}`);
  }
  // The self-test command: scalar runs on any wasmtime (also RISC-V without V), simd where SIMD is there.
  for (const build of ["scalar", "simd"] as const) {
    const { core, features } = await finishCore(await compileAssembly("assembly/selftest-command.ts", build), COMMAND_EXPORTS, build);
    const { component, wit } = await makeCommandComponent(core);
    const file = build === "scalar" ? "qedge-selftest.component.wasm" : `qedge-selftest-${build}.component.wasm`;
    write(file, component);
    const { imports, exports } = worldLines(wit);
    entries.push({
      file, kind: "selftest-command", build, world: COMMAND_WORLD(wit), sha256: sha256(component), size: component.byteLength,
      features, imports, exports, core: { sha256: sha256(core), size: core.byteLength },
    });
    log(`${file}: ${component.byteLength} bytes, features ${features.join(", ")}`);
  }
  const manifest: Manifest = {
    qedge: pkg.version,
    wit: { file: WIT_FILE, sha256: sha256(new TextEncoder().encode(witSource)), world: WORLD_ID },
    components: entries,
  };
  write("manifest.json", JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = resolve(process.argv[2] ?? join(repoRoot(), "dist"));
  buildComponents(out, (s) => console.log(`  ${s}`)).then(
    () => console.log(`components and manifest written to ${out}`),
    (e) => { console.error(`component build failed: ${e instanceof Error ? e.message : e}`); process.exitCode = 1; },
  );
}
