// wasmtime on aarch64: npm's aarch64 build of Wizer embeds wasmtime (Cranelift). Running
// `wizer m.wasm --init-func F` executes export F under wasmtime and exits 1 if it traps, so a
// self-test export that traps on a wrong result is a real wasmtime test (notes/wasm-toolchain.md).
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CacheLayout } from "./cache.js";
import type { EnvManifest } from "./env.js";
import { QemuSetupError } from "./errors.js";
import { fetchNpmTarball } from "./npm.js";
import { runCapture, type RunResult } from "./run.js";
import { mustRun } from "./tools.js";

export const WIZER_PACKAGE = { name: "@bytecodealliance/wizer-linux-arm64", version: "10.0.0" };

type Log = (line: string) => void;

function wizerDir(layout: CacheLayout): string {
  return layout.tool(WIZER_PACKAGE.name, WIZER_PACKAGE.version);
}

export function wizerBinary(layout: CacheLayout): string {
  return join(wizerDir(layout), "wizer");
}

/** Fetch (npm pack, verified) and unpack the aarch64 wizer into the cache; idempotent. */
export async function setupWasmtime(layout: CacheLayout, log: Log = () => {}): Promise<string> {
  const dir = wizerDir(layout);
  const marker = join(dir, ".complete");
  if (existsSync(marker)) return wizerBinary(layout);
  log(`wasmtime: preparing ${WIZER_PACKAGE.name}@${WIZER_PACKAGE.version}`);
  const { name, version } = WIZER_PACKAGE;
  const tgz = await fetchNpmTarball(layout.npmTarball(name, version), name, version, layout.tmp(), log);
  const staging = `${dir}.staging`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await mustRun("tar", ["-xzf", tgz, "-C", staging, "--strip-components=1"]);
  if (!existsSync(join(staging, "wizer"))) throw new QemuSetupError(`${name}@${version} has no 'wizer' binary`);
  await writeFile(join(staging, ".complete"), JSON.stringify({ from: `${name}@${version}`, tarball: tgz }) + "\n");
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  log("wasmtime: ready (aarch64 wizer)");
  return wizerBinary(layout);
}

export async function wasmtimeStatus(layout: CacheLayout): Promise<string> {
  const marker = join(wizerDir(layout), ".complete");
  if (!existsSync(marker)) return "missing   (qedge qemu setup --arch aarch64)";
  const m = JSON.parse(await readFile(marker, "utf8")) as { from: string };
  return `ready     ${m.from} (aarch64 only: no armv7 or riscv64 build exists)`;
}

/** Run `wizer WASM -o /dev/null --init-func FUNC --wasm-simd true` on emulated aarch64. */
export function runWizer(layout: CacheLayout, aarch64: EnvManifest, wasm: string, initFunc: string): Promise<RunResult> {
  return runCapture({
    cmd: aarch64.qemu,
    args: [...aarch64.qemuArgs, "-L", aarch64.sysroot, wizerBinary(layout), wasm, "-o", "/dev/null",
      "--init-func", initFunc, "--wasm-simd", "true", "--wasm-bulk-memory", "true"],
  });
}
