// Helpers shared by the fleet-related CLI commands (broker, device, fleet, sim, keygen):
// option parsing with the common connection options, key loading, output formatting.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { KeyObject } from "node:crypto";
import { InvalidArgumentError } from "../errors.js";
import { loadPrivateKey, loadPublicKey } from "./manifest.js";

/** The embedded broker's address: the default of every --broker option. */
export const DEFAULT_BROKER = "mqtt://127.0.0.1:1883";

export const CONNECTION_OPTIONS = {
  broker: { type: "string", default: DEFAULT_BROKER },
  username: { type: "string" },
  password: { type: "string" },
  protocol: { type: "string", default: "auto" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const CONNECTION_HELP = `  --broker URL        MQTT broker (default ${DEFAULT_BROKER}, the embedded broker's address)
  --username U        broker user name
  --password P        broker password
  --protocol V        MQTT version: auto (5, falling back to 3.1.1), 4 (3.1.1) or 5
  --json              machine-readable output`;

type Options = NonNullable<ParseArgsConfig["options"]>;
type Config<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true };
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>;

/** parseArgs with positionals allowed; a usage error becomes InvalidArgumentError with the help text. */
export function parse<O extends Options>(args: string[], options: O, help: string): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n\n${help}`);
  }
}

export function protocolOption(v: unknown): "auto" | 4 | 5 {
  if (v === undefined || v === "auto") return "auto";
  if (v === "4" || v === "3.1.1") return 4;
  if (v === "5") return 5;
  throw new InvalidArgumentError(`--protocol: expected auto, 4 (3.1.1) or 5, got '${String(v)}'`);
}

export function numberOption(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`--${name}: expected a number in ${min}..${max}, got '${String(v)}'`);
  return n;
}

export function readFileOrThrow(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InvalidArgumentError(`${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Trusted public keys: each --trust FILE (a .pub PEM, or a directory of them). */
export function loadTrustedKeys(paths: string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new InvalidArgumentError(`trusted key '${p}' does not exist`);
    const files = statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith(".pub")).sort().map((f) => join(p, f)) : [p];
    for (const f of files) keys.push(loadPublicKey(Buffer.from(readFileOrThrow(f, "trusted key")).toString("utf8")));
  }
  return keys;
}

export function loadSigningKey(path: string): KeyObject {
  return loadPrivateKey(Buffer.from(readFileOrThrow(path, "signing key")).toString("utf8"));
}

/** A plain text table; columns sized to their content. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return "(none)";
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) => (v === undefined || v === null ? "-" : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i])).join("  ").trimEnd();
  return [line(cols), line(width.map((w) => "-".repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n");
}

/** Logger: plain lines, or JSON lines with --json (to stderr, so stdout keeps the final document). */
export function makeLogger(json: boolean | undefined, stream: "stdout" | "stderr" = "stderr"): (line: string) => void {
  const out = stream === "stdout" ? process.stdout : process.stderr;
  return json
    ? (line) => out.write(`${JSON.stringify({ ts: new Date().toISOString(), msg: line })}\n`)
    : (line) => out.write(`${line}\n`);
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => { process.off("SIGINT", onInt); process.off("SIGTERM", onTerm); resolve(sig); };
    const onInt = () => on("SIGINT");
    const onTerm = () => on("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
  });
}
