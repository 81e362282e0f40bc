// Fetching a package tarball from the npm registry (`npm pack`, not a project dependency) into
// the cache, verified against the registry's published integrity and shasum.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { IndexFormatError, QemuSetupError } from "./errors.js";
import { verifyNpmTarball } from "./hashing.js";
import { mustRun } from "./tools.js";

export interface NpmDist { integrity?: string; shasum?: string; tarball?: string }

type Log = (line: string) => void;

/** Path of the verified tarball for name@version, downloading it if the cache lacks it. */
export async function fetchNpmTarball(dest: string, name: string, version: string, tmpRoot: string, log: Log = () => {}): Promise<string> {
  const spec = `${name}@${version}`;
  const metaFile = `${dest}.json`;
  if (existsSync(dest) && existsSync(metaFile)) {
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as NpmDist;
    try {
      await verifyNpmTarball(dest, meta.integrity, meta.shasum, `the recorded registry checksums of ${spec}`);
      return dest;
    } catch {
      log(`  ${dest} no longer matches its checksums: fetching again`);
      await rm(dest, { force: true });
    }
  }
  log(`  npm pack ${spec}`);
  const view = await mustRun("npm", ["view", spec, "dist", "--json"]);
  let dist: NpmDist;
  try {
    dist = JSON.parse(view.stdout) as NpmDist;
  } catch {
    throw new IndexFormatError(`npm view ${spec} dist`, "not JSON");
  }
  if (!dist || typeof dist !== "object" || (!dist.integrity && !dist.shasum)) {
    throw new IndexFormatError(`npm view ${spec} dist`, "no integrity or shasum");
  }
  const tmp = join(tmpRoot, `npm-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await mustRun("npm", ["pack", spec, "--pack-destination", tmp, "--silent"], { cwd: tmp });
  const files = (await readdir(tmp)).filter((f) => f.endsWith(".tgz"));
  if (files.length !== 1) throw new QemuSetupError(`npm pack ${spec} left ${files.length} tarballs in ${tmp}`);
  const got = join(tmp, files[0]);
  await verifyNpmTarball(got, dist.integrity, dist.shasum, `the npm registry's metadata for ${spec}`);
  await mkdir(dirname(dest), { recursive: true });
  await rename(got, dest);
  await writeFile(metaFile, JSON.stringify({ integrity: dist.integrity, shasum: dist.shasum, tarball: dist.tarball }, null, 1) + "\n");
  await rm(tmp, { recursive: true, force: true });
  return dest;
}
