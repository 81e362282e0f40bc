// One emulated environment per architecture: a sysroot with the target's C/C++ runtime and a
// Node binary, run with `qemu-<arch>-static -L SYSROOT`. Setup is idempotent (a finished
// environment is only checked) and resumable (downloads are cached and verified one by one;
// the sysroot is assembled in a staging directory and renamed into place, then the manifest
// is written last).
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, symlink, writeFile, lstat } from "node:fs/promises";
import { join } from "node:path";
import { ARCHES, type ArchName, type ArchSpec } from "./arch.js";
import { PrivateApt, type IndexRecord } from "./apt.js";
import { CacheLayout, resolveCacheDir } from "./cache.js";
import { hostDebianMirror } from "./debian.js";
import { QemuEnvMissingError, QemuSetupError } from "./errors.js";
import { fetchNpmTarball } from "./npm.js";
import { mustRun, runTool, which } from "./tools.js";

export interface EnvManifest {
  arch: ArchName;
  /** What the environment was built from; a different recipe means rebuild. */
  recipe: string;
  sysroot: string;
  node: string;
  nodeVersion: string;
  processArch: string;
  qemu: string;
  qemuArgs: string[];
  debs: { name: string; version: string; architecture: string; sha256: string }[];
  npm: { name: string; version: string; integrity?: string } | null;
  index: Pick<IndexRecord, "mirror" | "suite" | "arch" | "authenticated" | "note">;
  createdAt: string;
}

type Log = (line: string) => void;

export function qemuBinary(spec: ArchSpec): string {
  const p = which(spec.qemu);
  if (!p) throw new QemuSetupError(`${spec.qemu} not found: apt-get install qemu-user-static`);
  return p;
}

/** The pinned ingredients of a target, as one comparable string. */
export function recipeOf(spec: ArchSpec): string {
  return JSON.stringify({ npmNode: spec.npmNode ?? null, debian: spec.debian, node: spec.nodeInSysroot });
}

/** The finished environment for `arch`, or null if absent, incomplete or built from another recipe. */
export async function readManifest(layout: CacheLayout, arch: ArchName): Promise<EnvManifest | null> {
  const f = layout.envManifest(arch);
  if (!existsSync(f)) return null;
  const m = JSON.parse(await readFile(f, "utf8")) as EnvManifest;
  return m.recipe === recipeOf(ARCHES[arch]) && existsSync(m.node) ? m : null;
}

/** The environment for `arch`, or a QemuEnvMissingError telling how to create it. */
export async function requireEnv(layout: CacheLayout, arch: ArchName): Promise<EnvManifest> {
  const m = await readManifest(layout, arch);
  if (!m) {
    const cacheFlag = layout.root === resolveCacheDir() ? "" : ` --cache ${layout.root}`;
    throw new QemuEnvMissingError(`no ${arch} environment in ${layout.root}: run \`qedge qemu setup --arch ${arch}${cacheFlag}\``);
  }
  return m;
}

/**
 * Debian's packages ship some files under /lib and others under /usr/lib (merged /usr since
 * trixie). The dynamic loader is looked up at /lib/..., so add the merged-/usr links where the
 * top-level directory does not exist.
 */
async function addMergedUsrLinks(root: string): Promise<void> {
  for (const d of ["bin", "sbin", "lib", "lib64", "lib32"]) {
    if (existsSync(join(root, "usr", d)) && !(await lstat(join(root, d)).catch(() => null))) {
      await symlink(`usr/${d}`, join(root, d));
    }
  }
}

export async function setupArch(layout: CacheLayout, arch: ArchName, log: Log = () => {}): Promise<EnvManifest> {
  const spec = ARCHES[arch];
  const qemu = qemuBinary(spec);
  const existing = await readManifest(layout, arch);
  if (existing) {
    log(`${arch}: ready (node ${existing.nodeVersion}), nothing to do`);
    return existing;
  }
  // Any stale manifest goes first, so an interrupted rebuild never looks complete.
  await rm(layout.envManifest(arch), { force: true });
  log(`${arch}: preparing`);
  const mirror = hostDebianMirror();
  const apt = new PrivateApt(layout.aptRoot(spec.debian.suite, spec.debian.arch),
    { mirror, suite: spec.debian.suite, arch: spec.debian.arch, packages: spec.debian.packages }, log);
  const debs = await apt.fetchDebs();
  const index = JSON.parse(await readFile(apt.indexRecordFile, "utf8")) as IndexRecord;
  let npmTarball: string | null = null;
  let npmIntegrity: string | undefined;
  if (spec.npmNode) {
    const { name, version } = spec.npmNode;
    npmTarball = await fetchNpmTarball(layout.npmTarball(name, version), name, version, layout.tmp(), log);
    npmIntegrity = (JSON.parse(await readFile(`${npmTarball}.json`, "utf8")) as { integrity?: string }).integrity;
  }

  const sysroot = layout.sysroot(arch);
  const staging = `${sysroot}.staging`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`  unpacking ${debs.length} .debs${npmTarball ? " and the npm Node build" : ""}`);
  for (const d of debs) await mustRun("dpkg-deb", ["-x", d.file, staging]);
  await addMergedUsrLinks(staging);
  if (npmTarball) {
    const dir = join(staging, "opt", "node");
    await mkdir(dir, { recursive: true });
    await mustRun("tar", ["-xzf", npmTarball, "-C", dir, "--strip-components=1"]);
  }
  const nodeStaged = join(staging, spec.nodeInSysroot);
  if (!existsSync(nodeStaged)) throw new QemuSetupError(`${arch}: no node binary at ${spec.nodeInSysroot} after unpacking`);

  // Smoke test before declaring the environment usable.
  const probe = await runTool(qemu, [...spec.qemuArgs, "-L", staging, nodeStaged, "-p", "process.version + ' ' + process.arch"]);
  const [nodeVersion, processArch] = probe.stdout.trim().split(" ");
  if (probe.status !== 0 || !processArch) {
    throw new QemuSetupError(`${arch}: emulated node does not start (exit ${probe.status}): ${probe.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  }

  await rm(sysroot, { recursive: true, force: true });
  await rename(staging, sysroot);
  const manifest: EnvManifest = {
    arch, recipe: recipeOf(spec), sysroot, node: join(sysroot, spec.nodeInSysroot), nodeVersion, processArch,
    qemu, qemuArgs: spec.qemuArgs,
    debs: debs.map((d) => ({ name: d.entry.name, version: d.entry.version, architecture: d.entry.architecture, sha256: d.entry.sha256 })),
    npm: spec.npmNode ? { ...spec.npmNode, integrity: npmIntegrity } : null,
    index: { mirror: index.mirror, suite: index.suite, arch: index.arch, authenticated: index.authenticated, note: index.note },
    createdAt: new Date().toISOString(),
  };
  const mf = layout.envManifest(arch);
  await writeFile(`${mf}.tmp`, JSON.stringify(manifest, null, 1) + "\n");
  await rename(`${mf}.tmp`, mf);
  log(`${arch}: ready (node ${nodeVersion} ${processArch}, ${debs.length} .debs${index.authenticated ? "" : ", index NOT authenticated"})`);
  return manifest;
}

/** Sizes are cheap to show and tell whether a cache is worth keeping. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await lstat(p)).size;
    }
  };
  await walk(dir);
  return total;
}
