// Argument parsing for `qedge qemu ...` (pure: no filesystem, no emulator), so it can be tested.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError } from "../../host/errors.js";
import { parseArchList, type ArchName } from "./arch.js";

export const QEMU_HELP = `usage: qedge qemu <setup|run|status|test> [options]   (qedge qemu <sub> --help)

Runs qedge on emulated aarch64, armv7 and riscv64 (QEMU user mode). Node and the target's
C runtime come from the npm registry and Debian's archive, verified and cached outside the
repository (--cache DIR, else $QEDGE_QEMU_CACHE, else ~/.cache/qedge-qemu).

  setup    download and verify the emulated environments
  run      run this checkout's qedge CLI under an emulated architecture
  status   show what the cache holds
  test     the emulated test matrix (kernel checks + TFLM golden cases), as npm run test:qemu`;

export const SETUP_HELP = `usage: qedge qemu setup [--arch aarch64|armv7|riscv64|all] [--cache DIR]

Prepares one emulated environment per architecture (default: all): the target's libc,
libstdc++ and Node in a sysroot, plus the aarch64 wizer (wasmtime) used by 'qemu test'.
Idempotent: a finished environment is only checked; an interrupted setup resumes.
Needs qemu-user-static on the host (apt-get install qemu-user-static), gpgv, dpkg-deb and npm.`;

export const RUN_HELP = `usage: qedge qemu run --arch ARCH [--cache DIR] [--max-memory BYTES] [--node-option FLAG ...] -- <qedge args>

Runs dist/host/cli/main.js of this checkout under emulated Node, e.g.
  qedge qemu run --arch riscv64 -- run model.tflite --input x.bin --output y.bin

  --arch         aarch64, armv7 or riscv64 (one)
  --max-memory   cap WebAssembly memory like a small board does (suffix k/m/g): the emulated
                 engine gets --wasm-max-mem-pages, and 'run' gets --max-memory
  --node-option  extra flag for the emulated node (e.g. --experimental-wasm-relaxed-simd)`;

export const STATUS_HELP = `usage: qedge qemu status [--cache DIR]

Shows the cache directory, the host's QEMU, and for each architecture whether its environment
is ready (Node version, Debian packages, whether the package index was authenticated).`;

export const TEST_HELP = `usage: qedge qemu test [--arch LIST|all] [--cache DIR] [--no-setup]

For each architecture, one emulated Node process runs the kernel checks (fixed vectors,
compared bit for bit with the same script run on this host) and every TFLM golden case of
../shared (or qedge's own models when ../shared is absent); then wasmtime (wizer) runs the
kernel module's selftest on aarch64. Prints a matrix; exits 1 on any mismatch or if an
architecture's detected kernel build is not the expected one.`;

export type QemuArgs =
  | { sub: "help" }
  | { sub: "setup"; help: boolean; arches: ArchName[]; cache?: string }
  | { sub: "status"; help: boolean; cache?: string }
  | { sub: "run"; help: boolean; arch: ArchName; cache?: string; maxMemory?: string; nodeOptions: string[]; rest: string[] }
  | { sub: "test"; help: boolean; arches: ArchName[]; cache?: string; setup: boolean };

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(args: string[], options: NonNullable<ParseArgsConfig["options"]>, help: string): { values: Values } {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: false, strict: true });
    return { values: r.values as Values };
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${help}`);
  }
}

export function parseQemuArgs(args: string[]): QemuArgs {
  const [sub, ...rest] = args;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") return { sub: "help" };
  const cache = { cache: { type: "string" as const } };
  switch (sub) {
    case "setup": {
      const { values } = parse(rest, { ...cache, arch: { type: "string", default: "all" } }, SETUP_HELP);
      return { sub, help: !!values.help, arches: parseArchList(values.arch as string), cache: values.cache as string | undefined };
    }
    case "status": {
      const { values } = parse(rest, cache, STATUS_HELP);
      return { sub, help: !!values.help, cache: values.cache as string | undefined };
    }
    case "test": {
      const { values } = parse(rest, { ...cache, arch: { type: "string", default: "all" }, "no-setup": { type: "boolean" } }, TEST_HELP);
      return { sub, help: !!values.help, arches: parseArchList(values.arch as string), cache: values.cache as string | undefined, setup: !values["no-setup"] };
    }
    case "run": {
      // Everything after the first "--" belongs to the emulated qedge.
      const dash = rest.indexOf("--");
      const own = dash < 0 ? rest : rest.slice(0, dash);
      const passed = dash < 0 ? [] : rest.slice(dash + 1);
      const { values } = parse(own, {
        ...cache, arch: { type: "string" }, "max-memory": { type: "string" }, "node-option": { type: "string", multiple: true },
      }, RUN_HELP);
      if (values.help) return { sub, help: true, arch: "aarch64", nodeOptions: [], rest: [] };
      if (!values.arch) throw new InvalidArgumentError(`qemu run needs --arch (aarch64, armv7 or riscv64)\n${RUN_HELP}`);
      const arches = parseArchList(values.arch as string);
      if (arches.length !== 1) throw new InvalidArgumentError("qemu run takes exactly one --arch");
      if (passed.length === 0) throw new InvalidArgumentError(`nothing to run: give the qedge arguments after --\n${RUN_HELP}`);
      return {
        sub, help: false, arch: arches[0], cache: values.cache as string | undefined,
        maxMemory: values["max-memory"] as string | undefined, nodeOptions: (values["node-option"] as string[] | undefined) ?? [], rest: passed,
      };
    }
    default:
      throw new InvalidArgumentError(`unknown qemu subcommand '${sub}'\n${QEMU_HELP}`);
  }
}

/**
 * Node flags and qedge arguments for a --max-memory cap: the engine refuses to grow any wasm
 * memory beyond the cap (like a board's RAM), and `qedge run` checks its plan against it.
 */
export function applyMemoryCap(maxBytes: number, qedgeArgs: string[]): { nodeFlags: string[]; qedgeArgs: string[] } {
  if (!Number.isFinite(maxBytes) || maxBytes < 65536) {
    throw new InvalidArgumentError(`--max-memory must be at least 64 KiB (one WebAssembly page), got ${maxBytes}`);
  }
  const pages = Math.floor(maxBytes / 65536);
  const forward = qedgeArgs[0] === "run" && !qedgeArgs.includes("--max-memory");
  return {
    nodeFlags: [`--wasm-max-mem-pages=${pages}`],
    qedgeArgs: forward ? ["run", "--max-memory", String(maxBytes), ...qedgeArgs.slice(1)] : qedgeArgs,
  };
}
