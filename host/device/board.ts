// What the agent needs to know about the board it runs on: identity for compatibility
// checks, the kernel build it may use, and the budgets a new model must fit before it is
// committed. The named profiles of real boards live in firmware-sim/boards.ts.
import type { KernelLevel } from "../fleet/manifest.js";

export interface BoardProfile {
  name: string;
  arch: string;
  /** Kernel build for loadModel; also the highest manifest.minKernel accepted. */
  kernels: KernelLevel;
  /** Cap on the runtime's linear memory (loadModel maxMemoryBytes). */
  maxMemoryBytes: number;
  /** Health check: the new model's arena must fit in this. */
  arenaBudgetBytes: number;
  /** Health check: median self-test latency must stay under this. */
  latencyBudgetMs: number;
  /** Largest artifact the device will download (flash slot size). */
  maxArtifactBytes: number;
}

/** A permissive profile for a host machine running `qedge device` without --board. */
export function hostBoard(kernels: KernelLevel = "simd"): BoardProfile {
  const arch = process.arch === "arm64" ? "aarch64" : process.arch === "x64" ? "x86_64" : process.arch;
  return {
    name: "host",
    arch,
    kernels,
    maxMemoryBytes: 1024 * 1024 * 1024,
    arenaBudgetBytes: 256 * 1024 * 1024,
    latencyBudgetMs: 10_000,
    maxArtifactBytes: 256 * 1024 * 1024,
  };
}

const LEVEL = { scalar: 0, simd: 1, relaxed: 2 } as const;

/** True when a board running `have` kernels can run a model needing `need`. */
export function kernelSatisfies(have: KernelLevel, need: KernelLevel): boolean {
  return LEVEL[have] >= LEVEL[need];
}
