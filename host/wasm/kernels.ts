// Loading the kernel module: find the three builds, probe which ones this engine can run, and
// instantiate one as a plain core module. (The WASI component path lives beside this file.)
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KernelBuildError, InvalidArgumentError } from "../errors.js";

export type KernelBuild = "scalar" | "simd" | "relaxed";
export type KernelChoice = KernelBuild | "auto";
export const KERNEL_BUILDS: readonly KernelBuild[] = ["scalar", "simd", "relaxed"];
/** Preference order for "auto": fastest first. */
const AUTO_ORDER: readonly KernelBuild[] = ["relaxed", "simd", "scalar"];

export interface KernelExports {
  memory: WebAssembly.Memory;
  run(program: number, count: number): number;
  heapBase(): number;
  features(): number;
  [name: string]: unknown;
}

export interface KernelInstance {
  build: KernelBuild;
  exports: KernelExports;
  memory: WebAssembly.Memory;
}

/** Directory holding kernels-<build>.wasm (dist/wasm), from either the source or the built tree. */
export function wasmDir(): string {
  if (process.env.QEDGE_WASM_DIR) return process.env.QEDGE_WASM_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const cand of [join(dir, "dist", "wasm"), join(dir, "wasm")]) {
      if (existsSync(join(cand, "kernels-scalar.wasm"))) return cand;
    }
    dir = dirname(dir);
  }
  throw new KernelBuildError("kernel builds not found (dist/wasm/kernels-*.wasm): run `npm run build`");
}

const bytesCache = new Map<KernelBuild, Uint8Array<ArrayBuffer>>();
const moduleCache = new Map<KernelBuild, WebAssembly.Module>();

export function kernelBytes(build: KernelBuild): Uint8Array<ArrayBuffer> {
  let b = bytesCache.get(build);
  if (!b) {
    b = new Uint8Array(readFileSync(join(wasmDir(), `kernels-${build}.wasm`)));
    bytesCache.set(build, b);
  }
  return b;
}

/**
 * Can this engine run the build? Validating the real artifact is the most faithful probe: it
 * fails exactly when an instruction it uses is unknown (no SIMD on riscv64 Node, relaxed SIMD
 * without --experimental-wasm-relaxed-simd on Node 20).
 */
export function isBuildSupported(build: KernelBuild): boolean {
  if (build === "relaxed" && !engineHasRelaxedSimd()) return false;
  return WebAssembly.validate(kernelBytes(build));
}

/**
 * Does the engine run relaxed SIMD at all? Probed with a one-function module that uses
 * i32x4.relaxed_dot_i8x16_i7x16_add_s, so "relaxed" is only chosen where the feature exists
 * (the relaxed build uses f32x4.relaxed_madd; an engine without the feature would refuse it anyway).
 */
export function engineHasRelaxedSimd(): boolean {
  const v128Zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
  const body = [0x00, ...v128Zero, ...v128Zero, ...v128Zero, 0xfd, 0x93, 0x02, 0x0b];
  const probe = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code
  ]);
  return WebAssembly.validate(probe);
}

export function supportedBuilds(): KernelBuild[] {
  return KERNEL_BUILDS.filter(isBuildSupported);
}

export function chooseBuild(choice: KernelChoice = "auto"): KernelBuild {
  if (choice === "auto") {
    const b = AUTO_ORDER.find(isBuildSupported);
    if (!b) throw new KernelBuildError("no kernel build validates on this WebAssembly engine");
    return b;
  }
  if (!KERNEL_BUILDS.includes(choice)) {
    throw new InvalidArgumentError(`unknown kernel build '${choice}' (expected auto, scalar, simd or relaxed)`);
  }
  if (!isBuildSupported(choice)) {
    const hint = choice === "relaxed"
      ? " (Node 20 needs --experimental-wasm-relaxed-simd)"
      : choice === "simd" ? " (this engine has no WebAssembly SIMD)" : "";
    throw new KernelBuildError(`kernel build '${choice}' is not supported by this WebAssembly engine${hint}`);
  }
  return choice;
}

function compiled(build: KernelBuild): WebAssembly.Module {
  let m = moduleCache.get(build);
  if (!m) {
    m = new WebAssembly.Module(kernelBytes(build));
    moduleCache.set(build, m);
  }
  return m;
}

/** Instantiate a fresh kernel instance (its own linear memory). */
export function instantiateKernels(choice: KernelChoice = "auto"): KernelInstance {
  const build = chooseBuild(choice);
  const instance = new WebAssembly.Instance(compiled(build), {});
  const exports = instance.exports as unknown as KernelExports;
  return { build, exports, memory: exports.memory };
}
