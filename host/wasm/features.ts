// What a WebAssembly binary needs from the engine, and the core modules inside a component.
// Feature use is found with binaryen: validate the module with one candidate feature switched
// off; the feature is needed exactly when validation then fails. binaryen is a build-time
// (dev) dependency, so it is imported only when asked for.
import { KernelBuildError } from "../errors.js";

/** Features qedge may meet in a kernel module, by their usual proposal names. */
export const FEATURE_NAMES = [
  "mutable-globals", "sign-ext", "nontrapping-fptoint", "bulk-memory", "multivalue",
  "simd", "relaxed-simd", "reference-types", "tail-call", "extended-const", "threads",
  "memory64", "multi-memory",
] as const;
export type WasmFeature = (typeof FEATURE_NAMES)[number];

type Binaryen = typeof import("binaryen").default;

let binaryenModule: Binaryen | null = null;
let silenced = false;

/**
 * binaryen.js, loaded on first use (a development dependency). Its validator prints every error
 * through console functions it binds while loading, so we hand it wrappers we can mute.
 */
export async function loadBinaryen(): Promise<Binaryen> {
  if (!binaryenModule) {
    const saved = { log: console.log, error: console.error, warn: console.warn };
    for (const k of ["log", "error", "warn"] as const) {
      const forward = saved[k];
      console[k] = (...args: unknown[]) => { if (!silenced) forward.apply(console, args); };
    }
    try {
      binaryenModule = (await import("binaryen")).default;
    } catch (e) {
      throw new KernelBuildError(`binaryen is needed to analyse wasm binaries but could not be loaded (${(e as Error).message}); install the development dependencies`);
    } finally {
      Object.assign(console, saved);
    }
  }
  return binaryenModule;
}

/** binaryen feature bits of each name (bulk memory comes with its "opt" half, which binaryen requires). */
export function featureMasks(b: Binaryen): Record<WasmFeature, number> {
  const F = b.Features;
  return {
    "mutable-globals": F.MutableGlobals, "sign-ext": F.SignExt, "nontrapping-fptoint": F.NontrappingFPToInt,
    "bulk-memory": F.BulkMemory | F.BulkMemoryOpt, multivalue: F.Multivalue, simd: F.SIMD128,
    "relaxed-simd": F.RelaxedSIMD, "reference-types": F.ReferenceTypes, "tail-call": F.TailCall,
    "extended-const": F.ExtendedConst, threads: F.Atomics, memory64: F.Memory64, "multi-memory": F.MultiMemory,
  };
}

export function featureMask(b: Binaryen, names: readonly WasmFeature[]): number {
  const masks = featureMasks(b);
  return names.reduce((m, n) => m | masks[n], 0);
}

/** Run fn with binaryen's messages (validation errors of the probes) muted. */
function quietly<T>(fn: () => T): T {
  silenced = true;
  try {
    return fn();
  } finally {
    silenced = false;
  }
}

/**
 * The features a core module uses (sorted as FEATURE_NAMES). Throws KernelBuildError if the
 * module does not validate even with every known feature on (it uses something else).
 */
export async function detectFeatures(core: Uint8Array): Promise<WasmFeature[]> {
  const b = await loadBinaryen();
  const masks = featureMasks(b);
  const all = featureMask(b, FEATURE_NAMES);
  const m = quietly(() => b.readBinary(core));
  try {
    let mask = all;
    m.setFeatures(mask);
    if (!quietly(() => m.validate())) throw new KernelBuildError("the module does not validate with the known feature set");
    // relaxed-simd needs simd, so try it first; the others are independent.
    const order: WasmFeature[] = ["relaxed-simd", ...FEATURE_NAMES.filter((f) => f !== "relaxed-simd")];
    for (const f of order) {
      const without = mask & ~masks[f];
      m.setFeatures(without);
      if (quietly(() => m.validate())) mask = without;
    }
    return FEATURE_NAMES.filter((f) => (mask & masks[f]) === masks[f]);
  } finally {
    m.dispose();
  }
}

const COMPONENT_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

const startsWith = (bytes: Uint8Array, head: number[]) => head.every((v, i) => bytes[i] === v);
export const isComponent = (bytes: Uint8Array) => bytes.length >= 8 && startsWith(bytes, COMPONENT_HEADER);
export const isCoreModule = (bytes: Uint8Array) => bytes.length >= 8 && startsWith(bytes, MODULE_HEADER);

/** The core modules at the top level of a component binary, in order (the first is the main one). */
export function componentCoreModules(bytes: Uint8Array): Uint8Array[] {
  if (!isComponent(bytes)) throw new KernelBuildError("not a WebAssembly component (bad header)");
  const out: Uint8Array[] = [];
  let p = 8;
  const leb = (): number => {
    let v = 0, shift = 0, byte: number;
    do {
      if (p >= bytes.length) throw new KernelBuildError("truncated component binary");
      byte = bytes[p++];
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return v;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    if (p + size > bytes.length) throw new KernelBuildError("truncated component binary");
    if (id === 1) out.push(bytes.subarray(p, p + size)); // core module section
    p += size;
  }
  return out;
}
