// Running the host tools the harness relies on (apt-get, gpgv, dpkg-deb, npm, tar), with errors
// that name the tool and show its message.
import { spawn, spawnSync } from "node:child_process";
import { QemuSetupError } from "./errors.js";

export interface ToolResult { status: number; stdout: string; stderr: string }

export function runTool(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    child.on("error", (e) => reject(new QemuSetupError(`cannot run ${cmd}: ${e.message}`)));
    child.on("close", (code) => resolveRun({ status: code ?? 1, stdout, stderr }));
  });
}

/** Run and require exit status 0. */
export async function mustRun(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ToolResult> {
  const r = await runTool(cmd, args, opts);
  if (r.status !== 0) {
    const msg = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-6).join("\n  ");
    throw new QemuSetupError(`${cmd} ${args.slice(0, 3).join(" ")}... failed (exit ${r.status}):\n  ${msg}`);
  }
  return r;
}

/** Absolute path of a program on PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}
