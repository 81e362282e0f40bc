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

/**
 * A tiny module exporting `selftest`: checks one i32x4.dot_i16x8_s result and traps when it is
 * not `expectLane3` in lane 3 (the true value is 15). With 15 it must return (wizer exit 0);
 * with anything else it must trap (wizer exit 1): the pair shows the harness sees both outcomes.
 */
export function simdProbeModule(expectLane3: number): Uint8Array<ArrayBuffer> {
  const v128 = (lanes: number[], bytesPer: 2 | 4) => {
    const b = Buffer.alloc(16);
    lanes.forEach((x, i) => (bytesPer === 2 ? b.writeInt16LE(x, i * 2) : b.writeInt32LE(x, i * 4)));
    return [0xfd, 0x0c, ...b];
  };
  const body = [
    0x00, // no locals
    ...v128([1, 2, 3, 4, 5, 6, 7, 8], 2),
    ...v128([-1, 2, -3, 4, -5, 6, -7, 8], 2),
    0xfd, 0xba, 0x01, // i32x4.dot_i16x8_s -> [3, 7, 11, 15]
    ...v128([3, 7, 11, expectLane3], 4),
    0xfd, 0x37, // i32x4.eq
    0xfd, 0xa3, 0x01, // i32x4.all_true
    0x45, // i32.eqz
    0x04, 0x40, 0x00, 0x0b, // if unreachable end
    0x0b,
  ];
  const section = (id: number, content: number[]) => [id, content.length, ...content];
  const name = [..."selftest"].map((c) => c.charCodeAt(0));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x00, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, name.length, ...name, 0x00, 0x00]),
    ...section(10, [0x01, body.length, ...body]),
  ]);
}

/** Does this engine (the host) agree the probe passes / traps as intended? Guards the bytes above. */
export function probeBehavesOnHost(bytes: Uint8Array<ArrayBuffer>, shouldTrap: boolean): boolean {
  if (!WebAssembly.validate(bytes)) return false;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  try {
    (inst.exports.selftest as () => void)();
    return !shouldTrap;
  } catch {
    return shouldTrap;
  }
}
