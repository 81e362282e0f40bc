// The fleet demo behind `npm start`: an embedded broker with per-device credentials, a fleet
// of simulated boards of mixed profiles running the real agent and qedge's kernels, signed
// rollouts of the given models in canary waves, inference on every board, a final table.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { derivedDevicePassword, hashPassword, randomSecret } from "../broker/auth.js";
import { startBroker, type EmbeddedBroker } from "../broker/embedded.js";
import type { BoardProfile } from "../device/board.js";
import { QedgeRuntime, type ModelRuntime } from "../device/runtime.js";
import { supportedBuilds } from "../wasm/kernels.js";
import { SimFleet } from "../../firmware-sim/runner.js";
import { makeArtifact } from "./artifact.js";
import { table, untilSignal } from "./cli-util.js";
import { FleetController } from "./controller.js";
import { errorInfo } from "./errors.js";
import { generateSigningKey } from "./manifest.js";
import { createRollout, ROLLOUT_DEFAULTS, RolloutStore, runRollout, type RolloutReport } from "./rollout.js";

export interface FleetDemoOptions {
  devices?: number;
  models: Array<{ id: string; bytes: Uint8Array; input?: Uint8Array }>;
  /** Keep broker and boards running after the report until Ctrl-C (try `qedge fleet ...` against them). */
  serve?: boolean;
  /** Print the report as JSON (progress goes to `log`). */
  json?: boolean;
  log?: (line: string) => void;
  /** Runtime for the boards (default: qedge's kernels). */
  runtime?: ModelRuntime;
}

export interface FleetDemoRow {
  board: string;
  profile: string;
  arch: string;
  kernels: string;
  model: string;
  version: string;
  latencyMs: number | null;
  status: string;
  /** First output tensor, hex (at most 16 bytes). */
  output: string | null;
}

export interface FleetDemoReport {
  broker: string;
  devices: number;
  rollouts: RolloutReport[];
  results: FleetDemoRow[];
  ok: boolean;
  durationMs: number;
}

function clampKernels(b: BoardProfile, supported: string[]): BoardProfile {
  if (supported.includes(b.kernels)) return b;
  const order = ["relaxed", "simd", "scalar"] as const;
  const k = order.slice(order.indexOf(b.kernels)).find((x) => supported.includes(x)) ?? "scalar";
  return { ...b, kernels: k };
}

export async function runFleetDemo(opts: FleetDemoOptions): Promise<FleetDemoReport> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => (opts.json ? console.error(l) : console.log(l)));
  const n = opts.devices ?? 12;
  if (opts.models.length === 0) throw new Error("runFleetDemo: no models given");
  const secret = randomSecret();
  const ctlPassword = randomSecret(12);
  const auth = { deviceSecret: secret, users: { "qedge-controller": hashPassword(ctlPassword, "controller") } };
  let broker: EmbeddedBroker;
  try {
    broker = await startBroker({ port: opts.serve ? 1883 : 0, auth });
  } catch {
    broker = await startBroker({ port: 0, auth });
  }
  const dir = mkdtempSync(join(tmpdir(), "qedge-fleet-demo-"));
  const key = generateSigningKey();
  const runtime = opts.runtime ?? new QedgeRuntime();
  const supported = supportedBuilds();
  const fleet = new SimFleet({
    broker: broker.url, devices: n, boards: "mixed", idPrefix: "board-", trustedKeys: [createPublicKey(key.publicKeyPem)],
    runtime, credentials: (id) => ({ username: id, password: derivedDevicePassword(secret, id) }),
    kernelClamp: (b) => clampKernels(b, supported), agent: { reconnectMs: 500, telemetryIntervalMs: 5000 },
  });
  const ctl = new FleetController({ broker: broker.url, username: "qedge-controller", password: ctlPassword, id: "demo" });
  const store = new RolloutStore(dir);
  const rollouts: RolloutReport[] = [];
  const results: FleetDemoRow[] = [];
  try {
    log(`broker ${broker.url} (embedded aedes; per-device credentials, topic ACLs)`);
    await fleet.start();
    await fleet.waitConnected(n, 120_000);
    await ctl.connect();
    while (ctl.devices().filter((d) => d.online).length < n) await new Promise((r) => setTimeout(r, 50));
    log(`${n} boards online: ${[...new Set(fleet.boards.map((b) => `${b.profile.name} (${b.profile.arch}, ${b.profile.kernels})`))].join(", ")}`);
    const priv = createPrivateKey(key.privateKeyPem);
    for (const [i, m] of opts.models.entries()) {
      const art = await makeArtifact(m.bytes, priv, { modelId: m.id.replace(/[^A-Za-z0-9._-]/g, "_"), version: String(i + 1), blockSize: 16 * 1024, selfTestRuntime: runtime });
      await store.saveArtifact(art.signed.manifest.sha256, art.bytes);
      const targets = ctl.devices().map((d) => d.id);
      const s = createRollout(targets, art.deployment, { ...ROLLOUT_DEFAULTS, canary: 1, waveGrowth: 2, deviceTimeoutMs: 120_000, ackTimeoutMs: 5000 });
      await store.save(s);
      log(`rollout of ${m.id} (${m.bytes.length} bytes, signed, key ${art.signed.keyId}): waves [${s.waves.map((w) => w.length).join(", ")}]`);
      const rep = await runRollout(ctl, store, s, {
        onProgress: (st, id) => {
          const d = st.devices[id];
          if (d.state !== "in-progress") log(`  ${id}: ${d.state}${d.error ? ` (${d.error.type}: ${d.error.message})` : ""}`);
        },
      });
      rollouts.push(rep);
      log(`rollout of ${m.id}: ${rep.phase}, ${rep.totals.succeeded}/${rep.totals.targets} succeeded`);
      const input = m.input ? { input: Buffer.from(m.input).toString("base64") } : {};
      await Promise.all(fleet.boards.map(async (b) => {
        const row: FleetDemoRow = { board: b.id, profile: b.profile.name, arch: b.profile.arch, kernels: b.profile.kernels, model: m.id, version: String(i + 1), latencyMs: null, status: "", output: null };
        try {
          const r = await ctl.request(b.id, "infer", input, { resultTimeoutMs: 60_000, ackTimeoutMs: 5000 });
          const res = r.result as { latencyMs?: number; outputs?: string[]; kernels?: string; model?: { id: string } } | undefined;
          if (r.ok && res?.model?.id === art.signed.manifest.modelId) {
            row.latencyMs = Math.round((res.latencyMs ?? 0) * 1000) / 1000;
            row.kernels = res.kernels ?? row.kernels;
            row.output = res.outputs?.[0] ? Buffer.from(res.outputs[0], "base64").subarray(0, 16).toString("hex") : null;
            row.status = "ok";
          } else {
            row.status = r.ok ? `running ${res?.model?.id ?? "no model"}` : `${r.error?.type}: ${r.error?.message}`;
          }
        } catch (e) {
          row.status = `${errorInfo(e).type}: ${errorInfo(e).message}`;
        }
        results.push(row);
      }));
    }
    results.sort((a, b) => a.board.localeCompare(b.board) || Number(a.version) - Number(b.version));
    const report: FleetDemoReport = {
      broker: broker.url, devices: n, rollouts, results,
      ok: rollouts.every((r) => r.phase === "completed" && r.totals.failed === 0) && results.every((r) => r.status === "ok"),
      durationMs: Date.now() - t0,
    };
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(table(results.map((r) => ({ board: r.board, profile: r.profile, arch: r.arch, kernels: r.kernels, model: r.model, "latency ms": r.latencyMs, status: r.status }))));
      console.log(`${report.ok ? "all boards ok" : "some boards failed"} (${(report.durationMs / 1000).toFixed(1)} s)`);
    }
    if (opts.serve) {
      log(`serving: broker ${broker.url}; try  qedge fleet devices --broker ${broker.url} --username qedge-controller --password ${ctlPassword}  (Ctrl-C to stop)`);
      await untilSignal();
    }
    return report;
  } finally {
    await ctl.close().catch(() => {});
    await fleet.stop().catch(() => {});
    await broker.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
