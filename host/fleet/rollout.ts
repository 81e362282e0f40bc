// Rollouts in waves: a canary wave, then waves growing by a factor. Each wave must stay under
// the failure threshold (per wave and overall) or the rollout aborts and the devices it
// already changed are rolled back. Devices that are offline when their wave starts do not
// hold the wave up: they get the command and desired state queued, and are waited for at the
// end (up to a grace period). The state is written to disk after every change, so a killed
// controller resumes where it stopped; device-side installs are idempotent, so re-sending
// to devices that were mid-install is safe.
import { randomBytes } from "node:crypto";
import { FsStorage, readJson, writeDurable, writeDurableJson } from "../device/storage.js";
import { InvalidArgumentError } from "../errors.js";
import type { FleetController, DeviceView } from "./controller.js";
import { errorInfo, FleetTimeoutError } from "./errors.js";
import type { DeploymentSpec, ModelRef, ReplyMessage } from "./protocol.js";

export interface RolloutParams {
  /** Only devices whose status names this group (or board) are targeted. */
  group?: string;
  /** Explicit target list (overrides discovery). */
  devices?: string[];
  canary: number;
  waveGrowth: number;
  /** Abort when more than this percentage of executed devices failed (per wave or overall). */
  abortFailurePct: number;
  /** Per-device deadline for the deploy result. */
  deviceTimeoutMs: number;
  ackTimeoutMs: number;
  retries: number;
  /** Devices deployed to at once within a wave. */
  concurrency: number;
  /** How long to wait at the end for devices that were offline. */
  offlineGraceMs: number;
}

export const ROLLOUT_DEFAULTS: RolloutParams = {
  canary: 1, waveGrowth: 2, abortFailurePct: 10, deviceTimeoutMs: 120_000, ackTimeoutMs: 10_000, retries: 4, concurrency: 100, offlineGraceMs: 120_000,
};

export type DeviceRolloutState = "pending" | "in-progress" | "succeeded" | "failed" | "offline" | "rolled-back" | "rollback-failed" | "skipped";

export interface DeviceRollout {
  wave: number;
  state: DeviceRolloutState;
  /** Offline when its wave started: not counted in wave statistics. */
  deferred?: boolean;
  previous?: ModelRef | null;
  error?: { type: string; message: string };
  latencyMs?: number;
  updatedAt: number;
}

export interface WaveResult {
  wave: number;
  size: number;
  succeeded: number;
  failed: number;
  deferred: number;
}

export interface RolloutState {
  format: 1;
  id: string;
  createdAt: number;
  updatedAt: number;
  phase: "running" | "completed" | "aborted";
  model: { id: string; version: string; sha256: string; size: number };
  deployment: DeploymentSpec;
  params: RolloutParams;
  waves: string[][];
  waveIndex: number;
  waveResults: WaveResult[];
  devices: Record<string, DeviceRollout>;
  abortReason?: string;
}

export interface RolloutReport {
  id: string;
  phase: RolloutState["phase"];
  model: RolloutState["model"];
  totals: Record<DeviceRolloutState | "targets", number>;
  waves: WaveResult[];
  devices: { id: string; wave: number; state: DeviceRolloutState; error?: string }[];
  abortReason?: string;
  durationMs: number;
}

/** Wave sizes: canary, then canary*growth, canary*growth^2, ... until all targets are covered. */
export function planWaves(targets: string[], canary: number, growth: number): string[][] {
  if (!(canary >= 1) || !Number.isInteger(canary)) throw new InvalidArgumentError(`canary: expected a positive integer, got ${canary}`);
  if (!(growth >= 1)) throw new InvalidArgumentError(`wave growth: expected a number >= 1, got ${growth}`);
  const waves: string[][] = [];
  let i = 0;
  let size = canary;
  while (i < targets.length) {
    const n = Math.max(1, Math.round(size));
    waves.push(targets.slice(i, i + n));
    i += n;
    size = size * growth;
  }
  return waves;
}

/** Durable rollout records and the artifacts they serve, under one directory. */
export class RolloutStore {
  readonly fs: FsStorage;
  constructor(readonly dir: string) {
    this.fs = new FsStorage(dir);
  }

  async save(s: RolloutState): Promise<void> {
    s.updatedAt = Date.now();
    await writeDurableJson(this.fs, `rollouts/${s.id}.json`, s);
  }

  async load(id: string): Promise<RolloutState | null> {
    return readJson<RolloutState>(this.fs, `rollouts/${id}.json`);
  }

  async list(): Promise<RolloutState[]> {
    const out: RolloutState[] = [];
    for (const f of await this.fs.list("rollouts")) {
      if (!f.endsWith(".json")) continue;
      const s = await readJson<RolloutState>(this.fs, `rollouts/${f}`);
      if (s?.format === 1) out.push(s);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async saveArtifact(sha256: string, bytes: Uint8Array): Promise<void> {
    if (!(await this.fs.read(`artifacts/${sha256}.tflite`))) await writeDurable(this.fs, `artifacts/${sha256}.tflite`, bytes);
  }

  async artifact(sha256: string): Promise<Uint8Array | null> {
    return this.fs.read(`artifacts/${sha256}.tflite`);
  }
}

export function newRolloutId(sha256: string): string {
  const t = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `r${t}-${sha256.slice(0, 8)}-${randomBytes(2).toString("hex")}`;
}

/** Chooses targets: explicit list, or every known device (optionally of one group / board). */
export function selectTargets(devices: DeviceView[], params: Pick<RolloutParams, "group" | "devices">): string[] {
  if (params.devices?.length) return [...params.devices];
  return devices
    .filter((d) => !params.group || (d.status as { group?: string } | null)?.group === params.group || d.status?.board === params.group)
    .map((d) => d.id);
}

export function createRollout(targets: string[], deployment: DeploymentSpec, params: RolloutParams): RolloutState {
  const m = deployment.signed.manifest as { modelId: string; version: string; sha256: string; size: number };
  if (targets.length === 0) throw new InvalidArgumentError("no target devices (none known to the broker, or none in that group)");
  const waves = planWaves(targets, params.canary, params.waveGrowth);
  const now = Date.now();
  const id = deployment.rollout ?? newRolloutId(m.sha256);
  const devices: Record<string, DeviceRollout> = {};
  waves.forEach((w, i) => w.forEach((d) => { devices[d] = { wave: i, state: "pending", updatedAt: now }; }));
  return {
    format: 1, id, createdAt: now, updatedAt: now, phase: "running",
    model: { id: m.modelId, version: m.version, sha256: m.sha256, size: m.size },
    deployment: { ...deployment, rollout: id }, params, waves, waveIndex: 0, waveResults: [], devices,
  };
}

export function rolloutReport(s: RolloutState): RolloutReport {
  const totals = { targets: 0, pending: 0, "in-progress": 0, succeeded: 0, failed: 0, offline: 0, "rolled-back": 0, "rollback-failed": 0, skipped: 0 };
  const devices = Object.entries(s.devices).map(([id, d]) => {
    totals.targets++;
    totals[d.state]++;
    return { id, wave: d.wave, state: d.state, ...(d.error ? { error: `${d.error.type}: ${d.error.message}` } : {}) };
  }).sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  return {
    id: s.id, phase: s.phase, model: s.model, totals, waves: s.waveResults, devices,
    ...(s.abortReason ? { abortReason: s.abortReason } : {}), durationMs: s.updatedAt - s.createdAt,
  };
}

export interface RolloutEvents {
  log?: (line: string) => void;
  /** Called after each device outcome. */
  onProgress?: (s: RolloutState, device: string) => void;
  /** Stops the run as a killed controller would: no further sends, no further saves. */
  signal?: AbortSignal;
}

export class RolloutInterrupted extends Error {}

/** Runs (or resumes) a rollout to its end. The artifact must be in the store. */
export async function runRollout(ctl: FleetController, store: RolloutStore, s: RolloutState, ev: RolloutEvents = {}): Promise<RolloutReport> {
  const log = ev.log ?? (() => {});
  const bytes = await store.artifact(s.model.sha256);
  if (!bytes) throw new InvalidArgumentError(`rollout ${s.id}: artifact ${s.model.sha256} missing from ${store.dir}/artifacts`);
  const blockSize = (s.deployment.signed.manifest as { blockSize: number }).blockSize;
  ctl.serve(s.deployment.stream, bytes, blockSize);
  const p = s.params;
  const stopped = () => ev.signal?.aborted === true;
  const interrupted = new Promise<never>((_, reject) => {
    if (ev.signal) ev.signal.addEventListener("abort", () => reject(new RolloutInterrupted(`rollout ${s.id} interrupted`)), { once: true });
  });
  interrupted.catch(() => {});
  if (stopped()) throw new RolloutInterrupted(`rollout ${s.id} interrupted`);

  // Saves are serialised and coalesced: at most one write in flight plus one queued.
  let saving: Promise<void> = Promise.resolve();
  let queued = false;
  const save = (): Promise<void> => {
    if (stopped()) return saving;
    if (queued) return saving;
    queued = true;
    saving = saving.then(async () => { queued = false; if (!stopped()) await store.save(s); });
    return saving;
  };

  const setState = (id: string, patch: Partial<DeviceRollout>) => {
    if (stopped()) return;
    Object.assign(s.devices[id], patch, { updatedAt: Date.now() });
    ev.onProgress?.(s, id);
    void save();
  };

  const target = s.model.sha256;
  const doneWhen = (v: DeviceView): ReplyMessage | null => {
    const r = v.reported;
    if (r && r.model?.sha256 === target && !r.job) {
      return { id: "reported", device: v.id, cmd: "deploy", phase: "result", ok: true, result: { model: r.model, fromReportedState: true }, ts: r.ts };
    }
    return null;
  };

  const deployOne = async (id: string, deferred: boolean): Promise<void> => {
    if (stopped()) return;
    const d = s.devices[id];
    if (d.state === "pending") setState(id, { state: "in-progress", deferred, previous: ctl.device(id)?.status?.model ?? null });
    else setState(id, { deferred });
    ctl.setDesired(id, s.deployment);
    const timeout = p.deviceTimeoutMs + (deferred ? p.offlineGraceMs : 0);
    try {
      const r = await ctl.request(id, "deploy", s.deployment as unknown as Record<string, unknown>, {
        id: `${s.id}.${id}`.slice(0, 100), ttlMs: timeout, resultTimeoutMs: timeout, ackTimeoutMs: p.ackTimeoutMs, retries: p.retries, doneWhen,
        ...(deferred ? { offlineTimeoutMs: p.offlineGraceMs } : {}),
      });
      if (r.ok) setState(id, { state: "succeeded", error: undefined });
      else setState(id, { state: "failed", error: r.error ?? { type: "Error", message: `${r.phase} without detail` } });
    } catch (e) {
      const offline = !ctl.isOnline(id);
      setState(id, { state: e instanceof FleetTimeoutError && offline ? "offline" : "failed", error: errorInfo(e) });
    }
    log(`  ${id}: ${s.devices[id].state}${s.devices[id].error ? ` (${s.devices[id].error!.type}: ${s.devices[id].error!.message})` : ""}`);
  };

  const drive = async (): Promise<void> => {
    const deferredRuns: Promise<void>[] = [];
    // Resume: devices of finished waves still in progress were deferred; pick them up again.
    for (let w = 0; w < s.waveIndex; w++) {
      for (const id of s.waves[w]) if (s.devices[id].state === "in-progress") deferredRuns.push(deployOne(id, true));
    }

    const abort = (reason: string) => {
      s.phase = "aborted";
      s.abortReason = reason;
      log(`rollout ${s.id}: ABORT: ${reason}`);
    };

    while (s.phase === "running" && s.waveIndex < s.waves.length && !stopped()) {
      const w = s.waveIndex;
      const wave = s.waves[w].filter((id) => s.devices[id].state === "pending" || s.devices[id].state === "in-progress");
      log(`rollout ${s.id}: wave ${w + 1}/${s.waves.length} (${s.waves[w].length} device(s))`);
      const now: string[] = [];
      for (const id of wave) {
        if (ctl.isOnline(id)) now.push(id);
        else deferredRuns.push(deployOne(id, true));
      }
      // Bounded concurrency within the wave.
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(p.concurrency, now.length) }, async () => {
        while (next < now.length) await deployOne(now[next++], false);
      }));
      const counted = s.waves[w].filter((id) => !s.devices[id].deferred);
      const res: WaveResult = {
        wave: w, size: s.waves[w].length,
        succeeded: counted.filter((id) => s.devices[id].state === "succeeded").length,
        failed: counted.filter((id) => s.devices[id].state === "failed").length,
        deferred: s.waves[w].length - counted.length,
      };
      s.waveResults[w] = res;
      s.waveIndex = w + 1;
      const executed = Object.values(s.devices).filter((d) => !d.deferred && (d.state === "succeeded" || d.state === "failed"));
      const failedAll = executed.filter((d) => d.state === "failed").length;
      const wavePct = res.succeeded + res.failed ? (100 * res.failed) / (res.succeeded + res.failed) : 0;
      const allPct = executed.length ? (100 * failedAll) / executed.length : 0;
      log(`rollout ${s.id}: wave ${w + 1} done: ${res.succeeded} ok, ${res.failed} failed, ${res.deferred} offline`);
      if (wavePct > p.abortFailurePct) abort(`wave ${w + 1}: ${res.failed}/${res.succeeded + res.failed} failed (${wavePct.toFixed(1)}% > ${p.abortFailurePct}%)`);
      else if (allPct > p.abortFailurePct) abort(`${failedAll}/${executed.length} failed overall (${allPct.toFixed(1)}% > ${p.abortFailurePct}%)`);
      await save();
    }

    if (deferredRuns.length) log(`rollout ${s.id}: waiting for ${deferredRuns.length} device(s) that were offline`);
    await Promise.all(deferredRuns);

    if (s.phase === "aborted") {
      for (const [id, d] of Object.entries(s.devices)) if (d.state === "pending") setState(id, { state: "skipped" });
      const changed = Object.keys(s.devices).filter((id) => s.devices[id].state === "succeeded");
      log(`rollout ${s.id}: rolling back ${changed.length} device(s)`);
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(p.concurrency, changed.length) }, async () => {
        while (next < changed.length) {
          const id = changed[next++];
          ctl.setDesired(id, null);
          try {
            const r = await ctl.request(id, "rollback", { from: target }, { resultTimeoutMs: p.deviceTimeoutMs, ackTimeoutMs: p.ackTimeoutMs, retries: p.retries });
            setState(id, r.ok ? { state: "rolled-back" } : { state: "rollback-failed", error: r.error });
          } catch (e) {
            setState(id, { state: "rollback-failed", error: errorInfo(e) });
          }
        }
      }));
    } else {
      s.phase = "completed";
    }
    await save();
    await saving;
  };
  await Promise.race([drive(), interrupted]);
  const rep = rolloutReport(s);
  log(`rollout ${s.id}: ${s.phase}: ${rep.totals.succeeded} succeeded, ${rep.totals.failed} failed, ${rep.totals.offline} offline, ${rep.totals["rolled-back"]} rolled back`);
  return rep;
}
