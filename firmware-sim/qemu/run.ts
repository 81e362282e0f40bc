// Running Node under user-mode QEMU: one process, no binfmt needed. Children that emulated
// Node spawns (fork, worker pools of test runners) would need binfmt, so callers keep to one
// process per architecture.
import { spawn } from "node:child_process";
import type { EnvManifest } from "./env.js";

export interface EmulatedCommand { cmd: string; args: string[] }

/** qemu-<arch>-static [cpu] -L SYSROOT SYSROOT/.../node NODE_ARGS... */
export function emulatedNode(env: EnvManifest, nodeArgs: string[]): EmulatedCommand {
  return { cmd: env.qemu, args: [...env.qemuArgs, "-L", env.sysroot, env.node, ...nodeArgs] };
}

export interface RunResult { status: number; stdout: string; stderr: string; seconds: number }

/** Run with inherited stdio (the user's command) and return the exit status. */
export function runInherit(c: EmulatedCommand, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(c.cmd, c.args, { stdio: "inherit", env });
    child.on("error", (e) => { console.error(`cannot start ${c.cmd}: ${e.message}`); resolveRun(127); });
    child.on("close", (code, signal) => resolveRun(code ?? (signal ? 128 : 1)));
  });
}

/** Run capturing output, echoing stderr lines through `onStderr` as they come (progress). */
export function runCapture(c: EmulatedCommand, onStderr?: (chunk: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolveRun) => {
    const child = spawn(c.cmd, c.args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; onStderr?.(String(d)); });
    child.on("error", (e) => resolveRun({ status: 127, stdout, stderr: `${stderr}cannot start ${c.cmd}: ${e.message}`, seconds: 0 }));
    child.on("close", (code, signal) => resolveRun({
      status: code ?? (signal ? 128 : 1), stdout, stderr, seconds: (performance.now() - t0) / 1000,
    }));
  });
}
