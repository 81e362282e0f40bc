// Where the emulated environments live: a cache directory OUTSIDE the repository (a few hundred
// MB of foreign binaries that must never be committed). --cache DIR > $QEDGE_QEMU_CACHE >
// $XDG_CACHE_HOME/qedge-qemu > ~/.cache/qedge-qemu.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { ArchName } from "./arch.js";

export function resolveCacheDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.QEDGE_QEMU_CACHE) return resolve(env.QEDGE_QEMU_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(base, "qedge-qemu");
}

/**
 * The cache layout. Each piece is complete only when its manifest (a .json written last, by
 * rename) exists, which makes setup resumable: an interrupted step is redone, a finished one
 * is only re-verified.
 */
export class CacheLayout {
  constructor(readonly root: string) {}

  /** Verified npm tarballs: <name>-<version>.tgz, with <...>.tgz.json recording its checksums. */
  npmTarball(name: string, version: string): string {
    return join(this.root, "npm", `${name.replace(/^@/, "").replace(/\//g, "-")}-${version}.tgz`);
  }

  /** Private apt root for one Debian suite and architecture (config, lists, downloaded .debs). */
  aptRoot(suite: string, debArch: string): string {
    return join(this.root, "debian", `${suite}-${debArch}`);
  }

  /** The sysroot passed to qemu -L. */
  sysroot(arch: ArchName): string {
    return join(this.root, "envs", arch);
  }

  /** Manifest written once the sysroot is complete. */
  envManifest(arch: ArchName): string {
    return join(this.root, "envs", `${arch}.json`);
  }

  /** Unpacked helper tools (e.g. the aarch64 wizer with wasmtime inside). */
  tool(name: string, version: string): string {
    return join(this.root, "tools", `${name.replace(/^@/, "").replace(/\//g, "-")}-${version}`);
  }

  /** Scratch space for downloads and unpacking in progress. */
  tmp(): string {
    return join(this.root, "tmp");
  }
}
