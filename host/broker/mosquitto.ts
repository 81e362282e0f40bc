// Runs a real Mosquitto on a loopback port with generated password and ACL files: the same
// identities and topic rules as the embedded broker (auth.ts), for tests and benchmarks.
// Mosquitto started as root drops to the `mosquitto` user, so the files are made readable.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOPIC_ROOT } from "../fleet/protocol.js";
import type { Role } from "./auth.js";

export function findMosquitto(): string | null {
  for (const p of ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto", "/opt/homebrew/sbin/mosquitto"]) {
    if (existsSync(p)) return p;
  }
  const r = spawnSync("sh", ["-c", "command -v mosquitto"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function findMosquittoPasswd(): string | null {
  for (const p of ["/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd", "/opt/homebrew/bin/mosquitto_passwd"]) {
    if (existsSync(p)) return p;
  }
  const r = spawnSync("sh", ["-c", "command -v mosquitto_passwd"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, host: string, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host });
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoOptions {
  users: Record<string, { password: string; role: Role }>;
  port?: number;
  /** Lifetime of persistent sessions of disconnected MQTT 3.1.1 clients (MQTT 5 clients set their own). */
  sessionExpiry?: string;
  log?: (line: string) => void;
}

export interface MosquittoBroker {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startMosquitto(opts: MosquittoOptions): Promise<MosquittoBroker> {
  const bin = findMosquitto();
  const passwd = findMosquittoPasswd();
  if (!bin || !passwd) throw new Error("mosquitto / mosquitto_passwd not found (apt-get install mosquitto mosquitto-clients)");
  const host = "127.0.0.1";
  const port = opts.port ?? (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), "qedge-mosquitto-"));
  chmodSync(dir, 0o755);
  const pwFile = join(dir, "passwd");
  const aclFile = join(dir, "acl");
  const confFile = join(dir, "mosquitto.conf");
  writeFileSync(pwFile, Object.entries(opts.users).map(([u, { password }]) => `${u}:${password}\n`).join(""));
  const r = spawnSync(passwd, ["-U", pwFile], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mosquitto_passwd -U failed: ${r.stderr}`);
  const controllers = Object.entries(opts.users).filter(([, u]) => u.role === "controller").map(([n]) => n);
  writeFileSync(aclFile, [
    "# every client: only its own device root",
    `pattern readwrite ${TOPIC_ROOT}/%u/#`,
    ...controllers.flatMap((c) => ["", `user ${c}`, `topic readwrite ${TOPIC_ROOT}/#`]),
    "",
  ].join("\n"));
  writeFileSync(confFile, [
    "per_listener_settings false",
    `listener ${port} ${host}`,
    "allow_anonymous false",
    `password_file ${pwFile}`,
    `acl_file ${aclFile}`,
    "persistence false",
    `persistent_client_expiration ${opts.sessionExpiry ?? "1h"}`,
    "max_queued_messages 10000",
    "max_inflight_messages 100",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
  ].join("\n"));
  for (const f of [pwFile, aclFile, confFile]) chmodSync(f, 0o644);

  let proc: ChildProcess;
  async function launch(): Promise<void> {
    proc = spawn(bin!, ["-c", confFile], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr!.on("data", (d) => opts.log?.(`mosquitto: ${String(d).trim()}`));
    await waitForPort(port, host, 10_000, proc);
  }
  async function stop(): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGTERM");
    const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
  await launch();
  return {
    url: `mqtt://${host}:${port}`,
    port,
    dir,
    async restart(downMs = 200) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
