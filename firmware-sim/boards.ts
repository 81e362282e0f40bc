// Profiles of the boards qedge targets, as the simulator and `qedge device --board` use them:
// architecture label, the kernel build V8 can run there, and the budgets a model must meet
// (memory cap handed to the runtime, arena, self-test latency, flash slot size).
// The latency budgets are generous on purpose: they catch a model that is far too big for a
// board, not a slow moment of a shared CI machine.
import { InvalidArgumentError } from "../host/errors.js";
import type { BoardProfile } from "../host/device/board.js";

const MiB = 1024 * 1024;

export const BOARDS: Record<string, BoardProfile> = {
  rpi4: { name: "rpi4", arch: "aarch64", kernels: "simd", maxMemoryBytes: 512 * MiB, arenaBudgetBytes: 64 * MiB, latencyBudgetMs: 5000, maxArtifactBytes: 64 * MiB },
  "rpi-zero2": { name: "rpi-zero2", arch: "aarch64", kernels: "simd", maxMemoryBytes: 96 * MiB, arenaBudgetBytes: 8 * MiB, latencyBudgetMs: 8000, maxArtifactBytes: 16 * MiB },
  visionfive2: { name: "visionfive2", arch: "riscv64", kernels: "scalar", maxMemoryBytes: 256 * MiB, arenaBudgetBytes: 32 * MiB, latencyBudgetMs: 10000, maxArtifactBytes: 32 * MiB },
  "beaglebone-black": { name: "beaglebone-black", arch: "armv7", kernels: "simd", maxMemoryBytes: 64 * MiB, arenaBudgetBytes: 4 * MiB, latencyBudgetMs: 10000, maxArtifactBytes: 8 * MiB },
  "jetson-nano": { name: "jetson-nano", arch: "aarch64", kernels: "simd", maxMemoryBytes: 1024 * MiB, arenaBudgetBytes: 128 * MiB, latencyBudgetMs: 5000, maxArtifactBytes: 128 * MiB },
  "x86-gateway": { name: "x86-gateway", arch: "x86_64", kernels: "relaxed", maxMemoryBytes: 1024 * MiB, arenaBudgetBytes: 256 * MiB, latencyBudgetMs: 5000, maxArtifactBytes: 256 * MiB },
};

/** The mix used when no board is named: mostly Pis, some RISC-V and armv7. */
export const MIXED = ["rpi4", "rpi-zero2", "visionfive2", "rpi4", "beaglebone-black", "jetson-nano"];

export function boardProfile(name: string): BoardProfile {
  const b = BOARDS[name];
  if (!b) throw new InvalidArgumentError(`unknown board '${name}' (known: ${Object.keys(BOARDS).join(", ")})`);
  return { ...b };
}

/** Board of the i-th simulated device: a named board, or the mixed rotation. */
export function boardFor(i: number, spec: string | undefined): BoardProfile {
  if (!spec || spec === "mixed") return boardProfile(MIXED[i % MIXED.length]);
  const names = spec.split(",");
  return boardProfile(names[i % names.length]);
}
