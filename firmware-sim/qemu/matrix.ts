// The emulated test matrix (`npm run test:qemu`, `qedge qemu test`): run test/qemu/checks.mjs
// once on the host (expected kernel bytes) and once per architecture in ONE emulated Node
// process each; then wasmtime (wizer) on aarch64. Prints arch x kernel build x passed/failed.
import { existsSync, mkdtempSync, readFileSync, statSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCHES, type ArchName } from "./arch.js";
import type { CacheLayout } from "./cache.js";
import { requireEnv, setupArch, type EnvManifest } from "./env.js";
import { QemuSetupError } from "./errors.js";
import { emulatedNode, runCapture, type RunResult } from "./run.js";
import { probeBehavesOnHost, runWizer, setupWasmtime, simdProbeModule } from "./wasmtime.js";

type Log = (line: string) => void;

export interface GoldenJobCase { name: string; model: string; input: string; golden: string; batch: number }

/** Node flags of the riscv64 row that runs without guard regions, in Liftoff only. */
export const EXPLICIT_BOUNDS_FLAGS = ["--liftoff", "--no-wasm-tier-up", "--wasm-enforce-bounds-checks"];

/** Shape of test/qemu/checks.mjs's result file (the parts read here). */
export interface ChecksResult {
  arch: string;
  node: string;
  simdValidates: boolean;
  supported: string[];
  detected: string | null;
  memory: { maxPages: number | null; enforced: boolean } | null;
  kernel: { passed: number; failed: number; unsupported: number; failures: string[] } | null;
  golden: { passed: number; failed: number; build: string | null; cases: { name: string; ok: boolean; detail: string }[] } | null;
  seconds: number;
  error: string | null;
}

export interface Row {
  label: string;
  node: string;
  build: string;
  kernel: string;
  golden: string;
  seconds: number;
  ok: boolean;
  problems: string[];
  /** Individual checks, for the plain "N passed, N failed" line CI reads. */
  passed: number;
  failed: number;
}

/** The repository this compiled file belongs to (dist/firmware-sim/qemu/matrix.js -> repo). */
function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
}

function sharedDir(repo: string): string | null {
  const dir = process.env.QEDGE_SHARED ?? resolve(repo, "..", "shared");
  return existsSync(join(dir, "models")) ? dir : null;
}

/** Every TFLM golden case in ../shared (mlperf-tiny and extra suites), all batch rows. */
export function goldenJobCases(shared: string | null): GoldenJobCase[] {
  if (!shared) return [];
  const out: GoldenJobCase[] = [];
  for (const suite of ["mlperf-tiny", "extra"]) {
    const dir = join(shared, "models", suite);
    const file = join(dir, "golden-tflm", "cases.json");
    if (!existsSync(file)) continue;
    const j = JSON.parse(readFileSync(file, "utf8")) as { cases: { model: string; input: string; golden_output: string; batch?: number }[] };
    for (const c of j.cases) {
      out.push({
        name: `${suite}/${c.golden_output.replace(/^golden-tflm\//, "").replace(/\.out\.bin$/, "")}`,
        model: join(dir, c.model), input: join(dir, c.input), golden: join(dir, c.golden_output), batch: c.batch ?? 1,
      });
    }
  }
  return out;
}

function newestMtime(dir: string): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Echo a child's stderr line by line with a prefix (parallel runs stay readable). */
function lineEcho(log: Log): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) { log(`  ${buf.slice(0, i)}`); buf = buf.slice(i + 1); }
  };
}

function readResult(file: string, run: RunResult): ChecksResult | string {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as ChecksResult;
  return `exit ${run.status}, no result: ${run.stderr.trim().split("\n").slice(-3).join(" / ")}`;
}

export function rowFrom(label: string, r: ChecksResult | string, expectedBuilds: string[] | null, goldenExpected: number): Row {
  if (typeof r === "string") {
    return { label, node: "?", build: "?", kernel: "-", golden: "-", seconds: 0, ok: false, problems: [r], passed: 0, failed: 1 };
  }
  const problems: string[] = [];
  if (r.error) problems.push(r.error.split("\n")[0]);
  const buildOk = !expectedBuilds || (r.detected !== null && expectedBuilds.includes(r.detected));
  if (!buildOk) problems.push(`auto picked ${r.detected}, expected ${expectedBuilds!.join(" or ")}`);
  if (r.golden?.build && r.detected && r.golden.build !== r.detected) problems.push(`loadModel used ${r.golden.build}, detection says ${r.detected}`);
  if (!r.memory || r.memory.maxPages === null) problems.push("kernel module declares no memory maximum");
  else if (!r.memory.enforced) problems.push(`memory maximum ${r.memory.maxPages} pages not enforced`);
  const k = r.kernel;
  if (k && k.failed > 0) problems.push(...k.failures.slice(0, 5));
  const g = r.golden;
  if (g && g.failed > 0) problems.push(...g.cases.filter((c) => !c.ok).slice(0, 5).map((c) => `${c.name}: ${c.detail}`));
  if (g && g.passed + g.failed !== goldenExpected) problems.push(`ran ${g.passed + g.failed} of ${goldenExpected} golden cases`);
  const build = `${r.detected ?? "?"}${expectedBuilds ? (buildOk ? " (expected)" : ` (EXPECTED ${expectedBuilds.join("/")})`) : ""}`;
  return {
    label, node: r.node, build,
    kernel: k ? `${k.passed} ok, ${k.failed} failed${k.unsupported ? `, ${k.unsupported} n/a` : ""} [${r.supported.join("+")}]` : "-",
    golden: goldenExpected === 0 ? "skipped (no ../shared)" : g ? `${g.passed}/${goldenExpected} passed${g.failed ? `, ${g.failed} FAILED` : ""}` : "-",
    seconds: r.seconds, ok: problems.length === 0, problems,
    // Case counts, plus one check each for the detected build and the memory maximum; a run
    // that crashed or skipped cases counts once more.
    passed: (k?.passed ?? 0) + (g?.passed ?? 0) + (buildOk ? 1 : 0) + (r.memory?.enforced ? 1 : 0),
    failed: (k?.failed ?? 0) + (g?.failed ?? 0) + (buildOk ? 0 : 1) + (r.memory?.enforced ? 0 : 1)
      + (r.error || (g && g.passed + g.failed !== goldenExpected) ? 1 : 0),
  };
}

async function wasmtimeRow(layout: CacheLayout, env: EnvManifest, distWasm: string, work: string): Promise<Row> {
  const t0 = performance.now();
  const problems: string[] = [];
  let checks = 3; // host sanity of the probes, passing probe, trapping probe
  // Plumbing: a passing and a trapping SIMD module must give exit 0 and non-zero.
  const pass = simdProbeModule(15), fail = simdProbeModule(16);
  if (!probeBehavesOnHost(pass, false) || !probeBehavesOnHost(fail, true)) problems.push("probe modules misbehave on the host engine");
  writeFileSync(join(work, "probe-pass.wasm"), pass);
  writeFileSync(join(work, "probe-trap.wasm"), fail);
  const rp = await runWizer(layout, env, join(work, "probe-pass.wasm"), "selftest");
  const rt = await runWizer(layout, env, join(work, "probe-trap.wasm"), "selftest");
  if (rp.status !== 0) problems.push(`passing probe: wizer exit ${rp.status}: ${rp.stderr.trim().split("\n").slice(-2).join(" / ")}`);
  if (rt.status === 0) problems.push("trapping probe: wizer exit 0 (a trap went unnoticed)");
  let plumbing = problems.length === 0 ? `probe ok (exit 0 / trap exit ${rt.status})` : "probe FAILED";

  // The real kernel builds must compile (Cranelift, aarch64) and start: run their _initialize.
  const builds = ["scalar", "simd"].filter((b) => existsSync(join(distWasm, `kernels-${b}.wasm`)));
  const exportsOf = (b: string) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(distWasm, `kernels-${b}.wasm`))));
  const started: string[] = [];
  for (const b of builds) {
    if (!exportsOf(b).some((e) => e.name === "_initialize")) continue;
    checks++;
    const r = await runWizer(layout, env, join(distWasm, `kernels-${b}.wasm`), "_initialize");
    if (r.status === 0) started.push(b);
    else problems.push(`kernels-${b}.wasm does not start under wasmtime: exit ${r.status}: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`);
  }
  if (started.length) plumbing += `; ${started.join("+")} modules start`;

  // The kernel module's own selftest export, when it has one.
  let selftest: string;
  const hasExport = builds.length > 0 && exportsOf(builds[0]).some((e) => e.name === "selftest" && e.kind === "function");
  if (!hasExport) {
    selftest = "pending: no selftest export";
  } else {
    const parts: string[] = [];
    for (const b of builds) {
      checks++;
      const r = await runWizer(layout, env, join(distWasm, `kernels-${b}.wasm`), "selftest");
      parts.push(`${b} ${r.status === 0 ? "ok" : `FAILED (exit ${r.status})`}`);
      if (r.status !== 0) problems.push(`kernels-${b}.wasm selftest under wasmtime: exit ${r.status}: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`);
    }
    selftest = `selftest ${parts.join(", ")}`;
  }
  return {
    label: "aarch64 / wasmtime", node: "wizer 10.0.0", build: "cranelift", kernel: plumbing, golden: selftest,
    seconds: (performance.now() - t0) / 1000, ok: problems.length === 0, problems,
    passed: checks - problems.length, failed: problems.length,
  };
}

function printMatrix(rows: Row[]): void {
  const head = ["arch", "node", "kernel build (auto)", "kernel cases", "golden cases", "time"];
  const cells = rows.map((r) => [r.label, r.node, r.build, r.kernel, r.golden, `${r.seconds.toFixed(1)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
  console.log("");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const c of cells) console.log(line(c));
  for (const r of rows) for (const p of r.problems) console.log(`  ${r.label}: ${p}`);
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let it = queue.shift(); it !== undefined; it = queue.shift()) await work(it);
  }));
}

export async function runMatrix(o: { layout: CacheLayout; arches: ArchName[]; setup: boolean; log: Log }): Promise<number> {
  const { layout, arches, log } = o;
  const t0 = performance.now();
  const repo = repoRoot();
  const distDir = join(repo, "dist");
  const checks = join(repo, "test", "qemu", "checks.mjs");
  for (const f of [join(distDir, "host", "index.js"), join(distDir, "wasm", "kernels-scalar.wasm"), checks]) {
    if (!existsSync(f)) throw new QemuSetupError(`${f} is missing: run \`npm run build\` first`);
  }
  const built = Math.min(statSync(join(distDir, "host", "index.js")).mtimeMs, statSync(join(distDir, "wasm", "kernels-scalar.wasm")).mtimeMs);
  if (Math.max(newestMtime(join(repo, "host")), newestMtime(join(repo, "assembly"))) > built) {
    log("warning: host/ or assembly/ changed after the last build; testing dist/ as built (npm run build to refresh)");
  }
  if (o.setup) {
    for (const a of arches) await setupArch(layout, a, log);
    if (arches.includes("aarch64")) await setupWasmtime(layout, log);
  }
  const envs = new Map<ArchName, EnvManifest>();
  for (const a of arches) envs.set(a, await requireEnv(layout, a));

  const shared = sharedDir(repo);
  const cases = goldenJobCases(shared);
  if (!shared) log("../shared (or $QEDGE_SHARED) is absent: golden cases skipped; the kernel cases (qedge's own in-memory models) still run");
  const work = mkdtempSync(join(tmpdir(), "qedge-qemu-"));
  const jobFile = join(work, "job.json");
  writeFileSync(jobFile, JSON.stringify({ distDir, cases }, null, 1));

  // Host first: its kernel outputs are the expected bytes.
  log(`host: ${cases.length} golden cases, kernel cases on every build`);
  const hostOut = join(work, "host.json");
  const hostRun = await runCapture({ cmd: process.execPath, args: [checks, "--job", jobFile, "--out", hostOut] }, lineEcho(log));
  const host = readResult(hostOut, hostRun);
  const rows: Row[] = [rowFrom(`${process.arch} (host)`, host, null, cases.length)];
  if (typeof host === "string") {
    printMatrix(rows);
    return 1;
  }
  const results = new Map<ArchName, Row>();
  const jobs = Math.max(1, Number(process.env.QEDGE_QEMU_JOBS ?? 2) || 2);
  await pool(arches, jobs, async (a) => {
    log(`${a}: one emulated node process (${ARCHES[a].qemu})`);
    const out = join(work, `${a}.json`);
    const run = await runCapture(emulatedNode(envs.get(a)!, [checks, "--job", jobFile, "--out", out, "--expect", hostOut]), lineEcho(log));
    results.set(a, rowFrom(a, readResult(out, run), ARCHES[a].expectedBuilds, cases.length));
  });
  for (const a of arches) rows.push(results.get(a)!);
  if (arches.includes("riscv64")) {
    // The same checks with explicit bounds checks in V8's baseline tier: what riscv64 Node falls
    // back to once the address space for guard regions runs out (many instances), and where
    // V8 11's riscv64 Liftoff has corrupted a live local across 64-bit loads (bench/README.md).
    log("riscv64: again with --liftoff --no-wasm-tier-up --wasm-enforce-bounds-checks");
    const out = join(work, "riscv64-bounds.json");
    const run = await runCapture(emulatedNode(envs.get("riscv64")!, [...EXPLICIT_BOUNDS_FLAGS, checks, "--job", jobFile,
      "--out", out, "--expect", hostOut]), lineEcho(log));
    rows.push(rowFrom("riscv64 / explicit bounds", readResult(out, run), ARCHES.riscv64.expectedBuilds, cases.length));
  }
  if (arches.includes("aarch64")) rows.push(await wasmtimeRow(layout, envs.get("aarch64")!, join(distDir, "wasm"), work));

  printMatrix(rows);
  rmSync(work, { recursive: true, force: true });
  const ok = rows.every((r) => r.ok);
  console.log(`\nqemu matrix: ${rows.filter((r) => r.ok).length} of ${rows.length} rows ok, ${((performance.now() - t0) / 1000).toFixed(0)} s total`);
  const sum = (f: (r: Row) => number) => rows.reduce((a, r) => a + f(r), 0);
  console.log(`${sum((r) => r.passed)} passed, ${sum((r) => r.failed)} failed`);
  return ok ? 0 : 1;
}
