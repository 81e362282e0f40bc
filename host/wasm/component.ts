// Loading the kernels as a WASI component (dist/kernels-<build>.component.wasm) through the JS
// bindings jco transpiled at build time (dist/component/kernels-<build>/). The bindings are in
// "instantiation" mode: we supply instantiateCore, so we keep the kernel's core instance.
//   - control (version, ABI and feature checks, weights, arena, program upload) goes through the
//     typed WIT calls of wit/kernels.wit;
//   - the hot path (run(program, count)) calls the same core export directly, and inputs/outputs
//     are views of the core instance's memory: no copies, no per-call glue (~0.04 us vs ~10 us).
// WASI comes from @bytecodealliance/preview2-shim for whatever the component's world imports;
// the kernel world imports nothing, so today the shim is never loaded on this path.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import { InvalidArgumentError, KernelBuildError, MemoryBudgetError } from "../errors.js";
import { KERNEL_BUILDS, engineHasRelaxedSimd, kernelBytes, wasmDir, type KernelBuild, type KernelChoice, type KernelExports, type KernelInstance } from "./kernels.js";

/** The op-block ABI this host encodes programs for (assembly/component.ts ABI_VERSION). */
export const HOST_ABI_VERSION = 1;
const ENGINE = "qedge:kernels/engine@0.1.0";
const AUTO_ORDER: readonly KernelBuild[] = ["relaxed", "simd", "scalar"];
/** asconfig.json maximumMemory, in pages. */
const MAX_PAGES = 4096;

/** A loaded model's constant data inside the kernel instance (WIT resource `weights`). */
export interface WeightsHandle {
  address(): number;
  size(): number;
}

/** The typed WIT interface qedge:kernels/engine as jco's bindings expose it. Errors throw. */
export interface KernelEngine {
  version(): string;
  abiVersion(): number;
  features(): { simd?: boolean; relaxedSimd?: boolean };
  heapBase(): number;
  memorySize(): bigint;
  loadWeights(image: Uint8Array): WeightsHandle;
  setupArena(after: WeightsHandle, bytes: number): number;
  write(address: number, data: Uint8Array): void;
  read(address: number, length: number): Uint8Array;
  run(program: number, count: number): number;
}

export interface ComponentKernelInstance extends KernelInstance {
  engine: KernelEngine;
}

export interface ComponentManifestEntry {
  file: string;
  kind: string;
  build: KernelBuild;
  world: string;
  sha256: string;
  size: number;
  features: string[];
  imports: string[];
  exports: string[];
  bindings?: string;
  /** sha256 of dist/wasm/kernels-<build>.wasm built from the same sources (freshness check). */
  plainCore?: string;
}

export interface ComponentOptions {
  /** Folder holding manifest.json and the components (default: dist/, or $QEDGE_COMPONENT_DIR). */
  dir?: string;
}

/** Folder with manifest.json, the components and their transpiled bindings. */
export function componentDir(): string {
  if (process.env.QEDGE_COMPONENT_DIR) return process.env.QEDGE_COMPONENT_DIR;
  return dirname(wasmDir());
}

const manifests = new Map<string, ComponentManifestEntry[]>();

export function componentManifest(dir = componentDir()): ComponentManifestEntry[] {
  let m = manifests.get(dir);
  if (!m) {
    const file = join(dir, "manifest.json");
    if (!existsSync(file)) throw new KernelBuildError(`kernel components not built (${file} is missing): run \`npm run build\``);
    m = JSON.parse(readFileSync(file, "utf8")).components as ComponentManifestEntry[];
    manifests.set(dir, m);
  }
  return m;
}

function entryFor(build: KernelBuild, dir: string): ComponentManifestEntry {
  const e = componentManifest(dir).find((c) => c.kind === "kernels" && c.build === build);
  if (!e?.bindings) throw new KernelBuildError(`no kernel component for the ${build} build in ${join(dir, "manifest.json")}`);
  if (!isFresh(e)) {
    throw new KernelBuildError(`the ${build} kernel component is older than dist/wasm/kernels-${build}.wasm: run \`npm run build\``);
  }
  return e;
}

const plainCoreHashes = new Map<KernelBuild, string | null>();

/** Was the component built from the same sources as the plain core module beside it? */
function isFresh(e: ComponentManifestEntry): boolean {
  if (!e.plainCore) return true; // built elsewhere (e.g. into a test folder): nothing to compare
  if (!plainCoreHashes.has(e.build)) {
    let h: string | null = null;
    try { h = createHash("sha256").update(kernelBytes(e.build)).digest("hex"); } catch { h = null; }
    plainCoreHashes.set(e.build, h);
  }
  const h = plainCoreHashes.get(e.build);
  return h === null || h === e.plainCore; // no plain core to compare with: nothing to say
}

let warnedNotReady = false;

/**
 * Are the kernel components built and as new as the plain core modules? If not, the default
 * loadModel falls back to the plain core module and says so once.
 */
export function componentKernelsReady(dir?: string): boolean {
  let ready: boolean;
  try {
    const kernels = componentManifest(dir ?? componentDir()).filter((c) => c.kind === "kernels");
    ready = kernels.length > 0 && kernels.every(isFresh);
  } catch {
    ready = false;
  }
  if (!ready && !warnedNotReady) {
    warnedNotReady = true;
    console.warn("qedge: kernel components are missing or older than dist/wasm (run `npm run build`); using the plain core module");
  }
  return ready;
}

type Instantiate = (
  getCoreModule: (path: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance,
) => { engine: KernelEngine };

interface Bindings {
  build: KernelBuild;
  instantiate: Instantiate;
  modules: Map<string, WebAssembly.Module>;
  imports: Record<string, unknown>;
}

const bindingsCache = new Map<string, Promise<Bindings>>();
const coreBytes = new Map<string, Uint8Array<ArrayBuffer>[]>();

/** The core wasm files next to a build's bindings (kernels-<build>.core*.wasm). */
function bindingCores(build: KernelBuild, dir: string): { name: string; bytes: Uint8Array<ArrayBuffer> }[] {
  const e = entryFor(build, dir);
  const folder = dirname(join(dir, e.bindings!));
  const names: string[] = [];
  for (let i = 1; ; i++) {
    const name = `kernels-${build}.core${i === 1 ? "" : i}.wasm`;
    if (!existsSync(join(folder, name))) break;
    names.push(name);
  }
  if (names.length === 0) throw new KernelBuildError(`the ${build} component bindings in ${folder} have no core wasm: run \`npm run build\``);
  const key = `${dir}\0${build}`;
  let cached = coreBytes.get(key);
  if (!cached) {
    cached = names.map((n) => new Uint8Array(readFileSync(join(folder, n))));
    coreBytes.set(key, cached);
  }
  return names.map((name, i) => ({ name, bytes: cached![i] }));
}

/** Can this engine run the component build? (Its core modules validate exactly when every feature they use is there.) */
export function isComponentBuildSupported(build: KernelBuild, opts: ComponentOptions = {}): boolean {
  // "relaxed" needs the engine feature itself, as for the plain core module (host/wasm/kernels.ts).
  if (build === "relaxed" && !engineHasRelaxedSimd()) return false;
  return bindingCores(build, opts.dir ?? componentDir()).every((c) => WebAssembly.validate(c.bytes));
}

function refuse(build: KernelBuild, dir: string): never {
  const features = entryFor(build, dir).features;
  const hint = features.includes("relaxed-simd") ? " (Node 20 needs --experimental-wasm-relaxed-simd)"
    : features.includes("simd") ? " (this engine has no WebAssembly SIMD)" : "";
  throw new KernelBuildError(`kernel component '${build}' needs ${features.join(", ")}; this WebAssembly engine rejects it${hint}`);
}

export function chooseComponentBuild(choice: KernelChoice = "auto", opts: ComponentOptions = {}): KernelBuild {
  const dir = opts.dir ?? componentDir();
  if (choice === "auto") {
    const available = AUTO_ORDER.filter((b) => componentManifest(dir).some((c) => c.kind === "kernels" && c.build === b));
    const b = available.find((x) => isComponentBuildSupported(x, { dir }));
    if (!b) throw new KernelBuildError("no kernel component validates on this WebAssembly engine");
    return b;
  }
  if (!KERNEL_BUILDS.includes(choice)) {
    throw new InvalidArgumentError(`unknown kernel build '${choice}' (expected auto, scalar, simd or relaxed)`);
  }
  if (!isComponentBuildSupported(choice, { dir })) refuse(choice, dir);
  return choice;
}

/** WASI imports for a component's world, from preview2-shim, sandboxed (no files, env or network). */
export async function wasiImports(imports: readonly string[]): Promise<Record<string, unknown>> {
  if (imports.length === 0) return {};
  const version = /@([0-9.]+)$/.exec(imports[0])?.[1];
  const { WASIShim } = await import("@bytecodealliance/preview2-shim/instantiation");
  const shim = new WASIShim({ sandbox: { preopens: {}, env: {}, enableNetwork: false } } as never);
  const all = shim.getImportObject(version ? { asVersion: version } : undefined) as Record<string, unknown>;
  const missing = imports.filter((i) => !(i in all));
  if (missing.length) throw new KernelBuildError(`preview2-shim provides no ${missing.join(", ")}`);
  return Object.fromEntries(imports.map((i) => [i, all[i]]));
}

function loadBindings(build: KernelBuild, dir: string): Promise<Bindings> {
  const key = `${dir}\0${build}`;
  let p = bindingsCache.get(key);
  if (!p) {
    p = (async () => {
      const e = entryFor(build, dir);
      const cores = bindingCores(build, dir);
      if (!cores.every((c) => WebAssembly.validate(c.bytes))) refuse(build, dir);
      const modules = new Map(cores.map((c) => [c.name, new WebAssembly.Module(c.bytes)]));
      const mod = await import(pathToFileURL(join(dir, e.bindings!)).href) as { instantiate: Instantiate };
      return { build, instantiate: mod.instantiate, modules, imports: await wasiImports(e.imports) };
    })();
    bindingsCache.set(key, p);
    p.catch(() => bindingsCache.delete(key));
  }
  return p;
}

/** Instantiate a component from loaded bindings: a fresh instance with its own memory. */
function instantiateFrom(b: Bindings): ComponentKernelInstance {
  let core: WebAssembly.Instance | null = null;
  const root = b.instantiate(
    (path) => {
      const m = b.modules.get(path);
      if (!m) throw new KernelBuildError(`the ${b.build} bindings ask for an unknown core module ${path}`);
      return m;
    },
    b.imports,
    (module, imports) => {
      const inst = new WebAssembly.Instance(module, imports);
      if (`${ENGINE}#run` in inst.exports) core = inst;
      return inst;
    },
  );
  const engine = root.engine;
  if (!core) throw new KernelBuildError(`the ${b.build} component has no kernel core module exporting ${ENGINE}#run`);
  const abi = engine.abiVersion();
  if (abi !== HOST_ABI_VERSION) {
    throw new KernelBuildError(`kernel component '${b.build}' speaks op ABI ${abi}, this host encodes ABI ${HOST_ABI_VERSION}: rebuild (npm run build)`);
  }
  const x = (core as WebAssembly.Instance).exports;
  const exports: KernelExports = {
    memory: x.memory as WebAssembly.Memory,
    run: x[`${ENGINE}#run`] as KernelExports["run"],
    heapBase: x[`${ENGINE}#heap-base`] as KernelExports["heapBase"],
    features: x[`${ENGINE}#features`] as KernelExports["features"],
  };
  return { build: b.build, exports, memory: exports.memory, engine };
}

/** Instantiate the kernels as a component (fresh instance, own memory). */
export async function instantiateComponentKernels(choice: KernelChoice = "auto", opts: ComponentOptions = {}): Promise<ComponentKernelInstance> {
  const dir = opts.dir ?? componentDir();
  const build = chooseComponentBuild(choice, { dir });
  return instantiateFrom(await loadBindings(build, dir));
}

/**
 * Put a compiled model's constant data into a fresh component instance through the typed calls:
 * the weights image crosses once (load-weights) and the arena is reserved right after it
 * (setup-arena). `base` is the address the host encoded the program for (the 16-aligned heap
 * base); the engine must place the weights exactly there. The host then writes the program
 * straight into memory, as it does for inputs.
 */
export function placeWithEngine(
  k: ComponentKernelInstance, base: number, weightsImage: Uint8Array, restBytes: number, endBytes: number,
): WeightsHandle {
  const e = k.engine;
  const maxBytes = MAX_PAGES * 65536;
  if (endBytes > maxBytes) throw new MemoryBudgetError(endBytes, maxBytes, "the kernel memory (its maximum size)");
  const call = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      const code = (err as { payload?: unknown }).payload;
      if (code === "out-of-memory" || err instanceof WebAssembly.RuntimeError) {
        throw new MemoryBudgetError(endBytes, k.memory.buffer.byteLength, `growing the kernel memory (${what})`);
      }
      throw new KernelBuildError(`${what} failed: ${typeof code === "string" ? code : (err as Error).message}`);
    }
  };
  const weights = call("load-weights", () => e.loadWeights(weightsImage));
  if (weights.address() !== base) {
    throw new KernelBuildError(`load-weights placed the weights at ${weights.address()}, the program was encoded for ${base}`);
  }
  const arena = call("setup-arena", () => e.setupArena(weights, restBytes));
  if (arena !== base + weightsImage.byteLength) {
    throw new KernelBuildError(`setup-arena returned ${arena}, expected ${base + weightsImage.byteLength}`);
  }
  return weights;
}
