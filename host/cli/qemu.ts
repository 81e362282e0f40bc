// qedge qemu setup | run | status | test: qedge on emulated aarch64, armv7 and riscv64.
// The harness itself lives in firmware-sim/qemu/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCH_NAMES, ARCHES } from "../../firmware-sim/qemu/arch.js";
import {
  applyMemoryCap, parseQemuArgs, QEMU_HELP, RUN_HELP, SETUP_HELP, STATUS_HELP, TEST_HELP,
} from "../../firmware-sim/qemu/args.js";
import { CacheLayout, resolveCacheDir } from "../../firmware-sim/qemu/cache.js";
import { dirBytes, readManifest, requireEnv, setupArch } from "../../firmware-sim/qemu/env.js";
import { emulatedNode, runInherit } from "../../firmware-sim/qemu/run.js";
import { runTool, which } from "../../firmware-sim/qemu/tools.js";
import { setupWasmtime, wasmtimeStatus } from "../../firmware-sim/qemu/wasmtime.js";
import { runMatrix } from "../../firmware-sim/qemu/matrix.js";
import { parseBytes } from "./run.js";

/** This checkout's built CLI entry (dist/host/cli/main.js), next to this file once compiled. */
function builtMain(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "main.js");
}

export async function qemuCommand(args: string[]): Promise<number> {
  const a = parseQemuArgs(args);
  const log = (line: string) => console.error(line);
  switch (a.sub) {
    case "help":
      console.log(QEMU_HELP);
      return args.length === 0 ? 2 : 0;
    case "setup": {
      if (a.help) { console.log(SETUP_HELP); return 0; }
      const layout = new CacheLayout(resolveCacheDir(a.cache));
      log(`cache: ${layout.root}`);
      for (const arch of a.arches) await setupArch(layout, arch, log);
      if (a.arches.includes("aarch64")) await setupWasmtime(layout, log);
      return 0;
    }
    case "status": {
      if (a.help) { console.log(STATUS_HELP); return 0; }
      const layout = new CacheLayout(resolveCacheDir(a.cache));
      console.log(`cache: ${layout.root}${existsSync(layout.root) ? ` (${((await dirBytes(layout.root)) / 1e6).toFixed(0)} MB)` : " (absent)"}`);
      const q = which("qemu-aarch64-static");
      const qv = q ? (await runTool(q, ["--version"])).stdout.split("\n")[0] : "not installed (apt-get install qemu-user-static)";
      console.log(`qemu: ${qv}`);
      for (const arch of ARCH_NAMES) {
        const m = await readManifest(layout, arch);
        const spec = ARCHES[arch];
        if (!m) { console.log(`${arch.padEnd(8)} missing   (qedge qemu setup --arch ${arch})`); continue; }
        const src = spec.npmNode ? `npm ${spec.npmNode.name}@${spec.npmNode.version}` : `Debian ${spec.debian.suite} nodejs`;
        console.log(`${arch.padEnd(8)} ready     node ${m.nodeVersion} (${src}); ${m.debs.length} .debs from ${m.index.suite}/${m.index.arch}`
          + `${m.index.authenticated ? "" : " [package index NOT authenticated by the signed Release]"}; expects ${spec.expectedBuilds.join("/")} kernels`);
      }
      console.log(`wasmtime ${await wasmtimeStatus(layout)}`);
      return 0;
    }
    case "run": {
      if (a.help) { console.log(RUN_HELP); return 0; }
      const layout = new CacheLayout(resolveCacheDir(a.cache));
      const env = await requireEnv(layout, a.arch);
      const main = builtMain();
      let nodeFlags = [...a.nodeOptions];
      let rest = a.rest;
      if (a.maxMemory !== undefined) {
        const cap = applyMemoryCap(parseBytes(a.maxMemory), rest);
        nodeFlags = [...nodeFlags, ...cap.nodeFlags];
        rest = cap.qedgeArgs;
      }
      return runInherit(emulatedNode(env, [...nodeFlags, main, ...rest]));
    }
    case "test": {
      if (a.help) { console.log(TEST_HELP); return 0; }
      const layout = new CacheLayout(resolveCacheDir(a.cache));
      return runMatrix({ layout, arches: a.arches, setup: a.setup, log });
    }
  }
}
