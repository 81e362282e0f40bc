// Fetching Debian packages for a foreign architecture with a PRIVATE apt configuration: own
// sources list, own empty dpkg status, own lists and archives, all under the cache directory.
// The host's apt state is never read for packages nor written.
//
// Trust chain: InRelease is checked with gpgv against the Debian archive keyring; the Packages
// index is checked against InRelease's SHA256 list; every .deb is checked against the Packages
// index. The index is fetched by us and handed to apt (rather than `apt-get update`) because
// this machine's mirror has served a trixie riscv64 index that differs from the signed Release:
// apt would refuse it outright. We then use it anyway, marked unauthenticated, and the .debs are
// still verified against it (see notes/qemu.md).
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseDebFileName, parsePackagesIndex, parseReleaseSha256, type PackageEntry } from "./debian.js";
import { IndexFormatError, QemuSetupError } from "./errors.js";
import { hashFile, verifySha256 } from "./hashing.js";
import { downloadTo } from "./net.js";
import { mustRun, which } from "./tools.js";

export const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

export interface AptTarget {
  mirror: string;
  suite: string;
  /** Debian architecture name. */
  arch: string;
  packages: string[];
}

export interface IndexRecord {
  mirror: string;
  suite: string;
  arch: string;
  inReleaseSha256: string;
  packagesFile: string;
  packagesSha256: string;
  /** True when the Packages file matched the signed InRelease. */
  authenticated: boolean;
  note?: string;
}

export interface FetchedDeb { file: string; entry: PackageEntry }

type Log = (line: string) => void;

/** apt's name for a file in its lists directory: URI without scheme, specials %-quoted, '/' -> '_'. */
export function aptListName(uri: string): string {
  const noScheme = uri.replace(/^[a-z+]+:\/\//i, "").replace(/^[^@/]*@/, "");
  const quoted = noScheme.replace(/[\\|{}[\]<>"^~_=!@#$%&*\x00-\x20\x7f-\xff]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"));
  return quoted.replace(/\//g, "_");
}

export class PrivateApt {
  readonly configFile: string;
  readonly listsDir: string;
  readonly archivesDir: string;

  constructor(readonly root: string, readonly target: AptTarget, private readonly log: Log = () => {}) {
    this.configFile = join(root, "apt.conf");
    this.listsDir = join(root, "state", "lists");
    this.archivesDir = join(root, "cache", "archives");
  }

  private async writeConfig(): Promise<void> {
    const r = this.root;
    for (const d of ["etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d", "state/lists/partial", "cache/archives/partial", "log"]) {
      await mkdir(join(r, d), { recursive: true });
    }
    if (!existsSync(join(r, "state", "status"))) await writeFile(join(r, "state", "status"), "");
    const { mirror, suite, arch } = this.target;
    await writeFile(join(r, "sources.list"), `deb [arch=${arch} signed-by=${DEBIAN_KEYRING}] ${mirror} ${suite} main\n`);
    const conf = [
      `Dir::Etc::main "${r}/etc/apt.conf";`,
      `Dir::Etc::Parts "${r}/etc/apt.conf.d";`,
      `Dir::Etc::SourceList "${r}/sources.list";`,
      `Dir::Etc::SourceParts "${r}/etc/sources.list.d";`,
      `Dir::Etc::Preferences "${r}/etc/preferences";`,
      `Dir::Etc::PreferencesParts "${r}/etc/preferences.d";`,
      `Dir::Etc::Trusted "${r}/etc/trusted.gpg";`,
      `Dir::Etc::TrustedParts "${r}/etc/trusted.gpg.d";`,
      `Dir::State "${r}/state";`,
      `Dir::State::Lists "${r}/state/lists";`,
      `Dir::State::status "${r}/state/status";`,
      `Dir::Cache "${r}/cache";`,
      `Dir::Cache::Archives "${r}/cache/archives";`,
      `Dir::Log "${r}/log";`,
      `APT::Architecture "${arch}";`,
      `APT::Architectures { "${arch}"; };`,
      `APT::Install-Recommends "false";`,
      `APT::Install-Suggests "false";`,
      `Acquire::Languages "none";`,
      // Keep the index compressed and skip apt's binary caches: ~100 MB less per architecture.
      `Acquire::GzipIndexes "true";`,
      `Dir::Cache::pkgcache "";`,
      `Dir::Cache::srcpkgcache "";`,
      // The download sandbox user (_apt) cannot enter a cache under /root.
      ...(process.getuid?.() === 0 ? [`APT::Sandbox::User "root";`] : []),
    ].join("\n") + "\n";
    await writeFile(this.configFile, conf);
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, APT_CONFIG: this.configFile, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" };
  }

  private listPath(suffix: string): string {
    const { mirror, suite } = this.target;
    return join(this.listsDir, aptListName(`${mirror}/dists/${suite}/${suffix}`));
  }

  get indexRecordFile(): string { return join(this.root, "index.json"); }

  /** Fetch and check InRelease and the Packages index, once; later calls reuse them. */
  async ensureIndex(): Promise<IndexRecord> {
    await this.writeConfig();
    const packagesPath = this.listPath(`main/binary-${this.target.arch}/Packages.gz`);
    if (existsSync(this.indexRecordFile) && existsSync(packagesPath)) {
      const rec = JSON.parse(await readFile(this.indexRecordFile, "utf8")) as IndexRecord;
      if (rec.mirror === this.target.mirror && await hashFile(packagesPath, "sha256") === rec.packagesSha256) return rec;
    }
    if (!which("gpgv")) throw new QemuSetupError("gpgv is needed to check Debian's signed Release file (apt-get install gpgv)");
    const keyring = process.env.QEDGE_DEBIAN_KEYRING ?? DEBIAN_KEYRING;
    if (!existsSync(keyring)) throw new QemuSetupError(`Debian archive keyring ${keyring} not found (apt-get install debian-archive-keyring)`);
    const { mirror, suite, arch } = this.target;
    const tmp = join(this.root, "tmp");
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });

    const inRelease = join(tmp, "InRelease");
    const base = `${mirror}/dists/${suite}`;
    this.log(`  fetch ${base}/InRelease`);
    await downloadTo(`${base}/InRelease`, inRelease);
    await mustRun("gpgv", ["--keyring", keyring, inRelease]);
    const signed = parseReleaseSha256(await readFile(inRelease, "utf8"), `${base}/InRelease`);

    const rel = `main/binary-${arch}/Packages.gz`;
    const want = signed.get(rel);
    if (!want) throw new IndexFormatError(`${base}/InRelease`, `lists no ${rel} (is ${arch} in ${suite}?)`);
    const gz = join(tmp, "Packages.gz");
    this.log(`  fetch ${base}/${rel} (${(want.size / 1e6).toFixed(1)} MB)`);
    await downloadTo(`${base}/${rel}`, gz);
    let got = await hashFile(gz, "sha256");
    let authenticated = got === want.sha256;
    if (!authenticated) {
      // The mirror may be mid-sync; the signed hash may still be served by-hash.
      try {
        await downloadTo(`${base}/main/binary-${arch}/by-hash/SHA256/${want.sha256}`, join(tmp, "Packages.byhash.gz"));
        if (await hashFile(join(tmp, "Packages.byhash.gz"), "sha256") === want.sha256) {
          await rename(join(tmp, "Packages.byhash.gz"), gz);
          got = want.sha256;
          authenticated = true;
        }
      } catch { /* not served: keep the unauthenticated index, flagged below */ }
    }
    const note = authenticated ? undefined
      : `${rel} from ${mirror} does not match the signed InRelease (SHA-256 ${got}, signed ${want.sha256}); `
        + "used unauthenticated, each .deb is still checked against it";
    if (note) this.log(`  WARNING: ${note}`);
    await rename(gz, packagesPath);
    await copyFile(inRelease, this.listPath("InRelease"));
    const rec: IndexRecord = {
      mirror, suite, arch,
      inReleaseSha256: await hashFile(inRelease, "sha256"),
      packagesFile: packagesPath,
      packagesSha256: await hashFile(packagesPath, "sha256"),
      authenticated,
      ...(note ? { note } : {}),
    };
    await writeFile(this.indexRecordFile, JSON.stringify(rec, null, 1) + "\n");
    await rm(tmp, { recursive: true, force: true });
    return rec;
  }

  /** The packages apt would install (name, version): the dependency closure on an empty system. */
  async resolve(): Promise<{ name: string; version: string }[]> {
    const r = await mustRun("apt-get", ["install", "-s", "-q", ...this.target.packages], { env: this.env() });
    const out: { name: string; version: string }[] = [];
    for (const line of r.stdout.split("\n")) {
      const m = /^Inst (\S+) \((\S+) /.exec(line);
      if (m) out.push({ name: m[1].replace(/:.*$/, ""), version: m[2] });
    }
    if (out.length === 0) throw new QemuSetupError(`apt-get resolved nothing for ${this.target.packages.join(" ")}:\n${r.stdout}`);
    return out;
  }

  /** Download the closure with apt-get --download-only and verify every .deb against the index. */
  async fetchDebs(): Promise<FetchedDeb[]> {
    const rec = await this.ensureIndex();
    const closure = await this.resolve();
    this.log(`  apt-get --download-only: ${closure.length} packages for ${this.target.suite}/${this.target.arch}`);
    await mustRun("apt-get", ["install", "-y", "-q", "--download-only", ...this.target.packages], { env: this.env() });
    const index = parsePackagesIndex(gunzipSync(await readFile(rec.packagesFile)).toString("utf8"), rec.packagesFile);
    const present = new Map<string, string>();
    for (const f of await readdir(this.archivesDir)) {
      const p = parseDebFileName(f);
      if (p) present.set(`${p.name} ${p.version}`, f);
    }
    const out: FetchedDeb[] = [];
    for (const { name, version } of closure) {
      const file = present.get(`${name} ${version}`);
      if (!file) throw new QemuSetupError(`apt-get did not leave ${name}_${version} in ${this.archivesDir}`);
      const p = parseDebFileName(file)!;
      const entry = index.get(name, version, p.architecture);
      if (!entry) throw new IndexFormatError(rec.packagesFile, `${name} ${version} ${p.architecture} is not in the index`);
      const path = join(this.archivesDir, file);
      await verifySha256(path, entry.sha256, `the Packages index (${entry.filename})`);
      out.push({ file: path, entry });
    }
    return out;
  }
}
