// What a WebAssembly component is: its world (as decoded by the wasm-tools bundled in jco), the
// functions it exports, the WebAssembly features its core code uses, and its sizes; plus what
// manifest.json beside it says about it, if there is one.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError, KernelBuildError } from "../errors.js";
import { componentCoreModules, detectFeatures, isComponent, isCoreModule, type WasmFeature } from "./features.js";

export interface ComponentInfo {
  file: string;
  size: number;
  sha256: string;
  /** The world as WIT text, decoded from the binary (its name is not stored: wasm-tools calls it "root"). */
  wit: string;
  imports: string[];
  /** Exported interfaces (or functions) with the functions each exports, from the core export names. */
  exports: { name: string; functions: string[] }[];
  features: WasmFeature[];
  coreModules: { size: number; features: WasmFeature[] }[];
  /** The entry of manifest.json in the same folder, if it lists this file. */
  manifest: { path: string; world: string; build: string; kind: string; sha256Matches: boolean } | null;
}

/** Import/export lines of a decoded world. */
export function worldLines(wit: string): { imports: string[]; exports: string[] } {
  const items = (kw: string) => [...wit.matchAll(new RegExp(`^\\s*${kw}\\s+([^;{]+?)\\s*;`, "gm"))].map((m) => m[1]);
  return { imports: items("import"), exports: items("export") };
}

/** Export names of a core module ("iface#func" for canonical-ABI exports). */
function coreExportNames(core: Uint8Array): string[] {
  return WebAssembly.Module.exports(new WebAssembly.Module(core as Uint8Array<ArrayBuffer>)).map((e) => e.name);
}

function coreExportNamesSafe(core: Uint8Array): string[] {
  try {
    return coreExportNames(core);
  } catch {
    return []; // this engine cannot compile it (e.g. a feature it lacks): the world still names the exports
  }
}

export async function componentInfo(bytes: Uint8Array, file: string): Promise<ComponentInfo> {
  if (!isComponent(bytes)) {
    throw new InvalidArgumentError(isCoreModule(bytes)
      ? `${file} is a core WebAssembly module, not a component`
      : `${file} is not a WebAssembly component (bad header)`);
  }
  let jco: typeof import("@bytecodealliance/jco");
  try {
    jco = await import("@bytecodealliance/jco");
  } catch (e) {
    throw new KernelBuildError(`@bytecodealliance/jco is needed to decode components but could not be loaded (${(e as Error).message})`);
  }
  let wit: string;
  try {
    wit = await jco.componentWit(bytes);
  } catch (e) {
    throw new InvalidArgumentError(`${file} is not a valid component: ${(e as Error).message}`);
  }
  const { imports, exports: exported } = worldLines(wit);
  const cores = componentCoreModules(bytes);
  const coreModules = [];
  for (const c of cores) coreModules.push({ size: c.byteLength, features: await detectFeatures(c) });
  const features = [...new Set(coreModules.flatMap((c) => c.features))];
  // Functions per exported interface, from the main core module's canonical-ABI export names.
  const names = cores.length ? coreExportNamesSafe(cores[0]) : [];
  const exports = exported.map((name) => ({
    name,
    functions: names.filter((n) => n.startsWith(`${name}#`)).map((n) => n.slice(name.length + 1)),
  }));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let manifest: ComponentInfo["manifest"] = null;
  const mpath = join(dirname(file), "manifest.json");
  if (existsSync(mpath)) {
    try {
      const m = JSON.parse(readFileSync(mpath, "utf8"));
      const e = (m.components ?? []).find((c: { file: string }) => c.file === basename(file));
      if (e) manifest = { path: mpath, world: e.world, build: e.build, kind: e.kind, sha256Matches: e.sha256 === sha256 };
    } catch {
      manifest = null; // not ours
    }
  }
  return { file, size: bytes.byteLength, sha256, wit, imports, exports, features, coreModules, manifest };
}

export function formatComponentInfo(i: ComponentInfo): string {
  const indent = (s: string, pad: string) => s.trimEnd().split("\n").map((l, k) => (k && l ? pad : "") + l).join("\n");
  const pad = " ".repeat(12);
  const lines = [
    `component   ${i.file}`,
    `size        ${i.size} bytes (core modules: ${i.coreModules.map((c) => c.size).join(" + ") || "none"})`,
    `sha256      ${i.sha256}`,
  ];
  if (i.manifest) {
    lines.push(`world       ${i.manifest.world} (${i.manifest.kind}, ${i.manifest.build} build; ` +
      `${i.manifest.sha256Matches ? "sha256 matches" : "sha256 DIFFERS from"} ${i.manifest.path})`);
  }
  lines.push(`wit         ${indent(i.wit, pad)}`);
  lines.push(`imports     ${i.imports.length ? i.imports.join("\n" + pad) : "(none)"}`);
  lines.push(`exports     ${i.exports.map((e) => e.functions.length ? `${e.name}\n${pad}  ${e.functions.join(", ")}` : e.name).join("\n" + pad) || "(none)"}`);
  lines.push(`features    ${i.features.join(", ") || "(none beyond WebAssembly 1.0)"}`);
  return lines.join("\n");
}
