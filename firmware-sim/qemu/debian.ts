// Reading Debian archive metadata: deb822 stanzas, the SHA256 list of a Release file, a
// Packages index, and the host's own apt sources (to reuse the mirror this machine already uses).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IndexFormatError, QemuSetupError } from "./errors.js";

export type Stanza = Record<string, string>;

/** Split a deb822 document (Packages, Release, .sources) into stanzas; field names keep their case. */
export function parseDeb822(text: string): Stanza[] {
  const out: Stanza[] = [];
  let cur: Stanza = {};
  let last: string | null = null;
  let has = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") {
      if (has) out.push(cur);
      cur = {}; last = null; has = false;
      continue;
    }
    if (line.startsWith("#")) continue;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (last !== null) cur[last] += "\n" + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    cur[last] = line.slice(colon + 1).trim();
    has = true;
  }
  if (has) out.push(cur);
  return out;
}

export interface IndexedFile { size: number; sha256: string }

/** The SHA256 section of an (In)Release file: path relative to dists/<suite>/ -> size and hash. */
export function parseReleaseSha256(text: string, where: string): Map<string, IndexedFile> {
  const body = stripPgpSignature(text);
  const stanza = parseDeb822(body)[0];
  if (!stanza || stanza.SHA256 === undefined) throw new IndexFormatError(where, "no SHA256 field in the Release file");
  const out = new Map<string, IndexedFile>();
  for (const line of stanza.SHA256.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const m = /^([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(t);
    if (!m) throw new IndexFormatError(where, `unreadable SHA256 line '${t}'`);
    out.set(m[3], { sha256: m[1], size: Number(m[2]) });
  }
  return out;
}

/** The signed text of an InRelease file (between the PGP header and the signature). */
export function stripPgpSignature(text: string): string {
  if (!text.startsWith("-----BEGIN PGP SIGNED MESSAGE-----")) return text;
  const start = text.indexOf("\n\n");
  const end = text.indexOf("\n-----BEGIN PGP SIGNATURE-----");
  if (start < 0 || end < 0) throw new IndexFormatError("InRelease", "malformed clear-signed message");
  return text.slice(start + 2, end).replace(/^- /gm, "");
}

export interface PackageEntry {
  name: string;
  version: string;
  architecture: string;
  /** Path below the mirror root, e.g. pool/main/n/nodejs/nodejs_20.19.2+dfsg-1_riscv64.deb */
  filename: string;
  size: number;
  sha256: string;
  depends: string;
}

/** A Packages index: every entry, keyed by "name version architecture". */
export class PackagesIndex {
  private readonly byKey = new Map<string, PackageEntry>();
  constructor(readonly entries: PackageEntry[]) {
    for (const e of entries) this.byKey.set(PackagesIndex.key(e.name, e.version, e.architecture), e);
  }
  static key(name: string, version: string, arch: string): string {
    return `${name} ${version} ${arch}`;
  }
  get(name: string, version: string, arch: string): PackageEntry | undefined {
    return this.byKey.get(PackagesIndex.key(name, version, arch));
  }
}

export function parsePackagesIndex(text: string, where: string): PackagesIndex {
  const entries: PackageEntry[] = [];
  for (const s of parseDeb822(text)) {
    const name = s.Package;
    if (!name) throw new IndexFormatError(where, "a stanza has no Package field");
    const need = (f: string) => {
      const v = s[f];
      if (v === undefined || v === "") throw new IndexFormatError(where, `package ${name} has no ${f} field`);
      return v;
    };
    const sha256 = need("SHA256").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new IndexFormatError(where, `package ${name} has a malformed SHA256 '${sha256}'`);
    const size = Number(need("Size"));
    if (!Number.isInteger(size) || size < 0) throw new IndexFormatError(where, `package ${name} has a malformed Size`);
    entries.push({
      name, version: need("Version"), architecture: need("Architecture"), filename: need("Filename"),
      size, sha256, depends: s.Depends ?? "",
    });
  }
  return new PackagesIndex(entries);
}

/**
 * apt names a downloaded .deb <name>_<version, ':' as %3a>_<arch>.deb; read the three back so
 * the file can be looked up in the index it came from.
 */
export function parseDebFileName(file: string): { name: string; version: string; architecture: string } | null {
  const m = /^([^_/]+)_([^_/]+)_([^_/]+)\.deb$/.exec(file);
  if (!m) return null;
  return { name: m[1], version: decodeURIComponent(m[2]), architecture: m[3] };
}

/** One apt source entry of the host (either format), reduced to what we need. */
export interface AptSourceEntry { uri: string; suites: string[]; signedBy?: string }

export function parseSourcesList(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line.startsWith("deb ")) continue;
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const signed = /signed-by=(\S+)/.exec(m[1] ?? "");
    out.push({ uri: m[2], suites: [m[3]], signedBy: signed?.[1] });
  }
  return out;
}

export function parseSourcesDeb822(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  for (const s of parseDeb822(text)) {
    if (!(s.Types ?? "").split(/\s+/).includes("deb")) continue;
    if ((s.Enabled ?? "yes").toLowerCase() === "no") continue;
    for (const uri of (s.URIs ?? "").split(/\s+/).filter(Boolean)) {
      out.push({ uri, suites: (s.Suites ?? "").split(/\s+/).filter(Boolean), signedBy: s["Signed-By"] });
    }
  }
  return out;
}

/** Is this entry the Debian archive proper (not security, not a third-party repository)? */
export function isDebianArchive(e: AptSourceEntry): boolean {
  if (/security/.test(e.uri) || e.suites.every((s) => /-security$/.test(s))) return false;
  return /\/debian\/?$/.test(e.uri) || /debian-archive-keyring/.test(e.signedBy ?? "");
}

/**
 * The Debian mirror this machine's apt already uses (so the harness reaches nothing new).
 * $QEDGE_DEBIAN_MIRROR overrides.
 */
export function hostDebianMirror(env: NodeJS.ProcessEnv = process.env, etcApt = "/etc/apt"): string {
  if (env.QEDGE_DEBIAN_MIRROR) return env.QEDGE_DEBIAN_MIRROR.replace(/\/+$/, "");
  const entries: AptSourceEntry[] = [];
  const list = join(etcApt, "sources.list");
  if (existsSync(list)) entries.push(...parseSourcesList(readFileSync(list, "utf8")));
  const dir = join(etcApt, "sources.list.d");
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, f), "utf8");
      if (f.endsWith(".sources")) entries.push(...parseSourcesDeb822(text));
      else if (f.endsWith(".list")) entries.push(...parseSourcesList(text));
    }
  }
  const hit = entries.find(isDebianArchive);
  if (!hit) {
    throw new QemuSetupError(`no Debian archive mirror found in ${etcApt}/sources.list*; set QEDGE_DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)`);
  }
  return hit.uri.replace(/\/+$/, "");
}
