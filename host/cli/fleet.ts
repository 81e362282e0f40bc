// qedge fleet: control a fleet over MQTT — list devices, deploy in canary waves, follow and
// resume rollouts, roll back, run inference, fine-tune.
import { basename, resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { QedgeRuntime } from "../device/runtime.js";
import { makeArtifact } from "../fleet/artifact.js";
import {
  CONNECTION_HELP, CONNECTION_OPTIONS, loadSigningKey, makeLogger, numberOption, parse, protocolOption, readFileOrThrow, table,
} from "../fleet/cli-util.js";
import { FleetController, type DeviceView } from "../fleet/controller.js";
import { errorInfo } from "../fleet/errors.js";
import { KERNEL_LEVELS, sha256Hex, type KernelLevel } from "../fleet/manifest.js";
import type { CommandName, ReplyMessage } from "../fleet/protocol.js";
import {
  createRollout, ROLLOUT_DEFAULTS, rolloutReport, RolloutStore, runRollout, selectTargets, type RolloutParams, type RolloutReport, type RolloutState,
} from "../fleet/rollout.js";

const HELP = `usage: qedge fleet <subcommand> [options]

  devices                      list devices (state, board, model)
  status [ROLLOUT]             list rollouts, or one rollout's per-device state
  deploy MODEL --key KEY       sign MODEL and roll it out in canary waves
        [--model-id ID] [--version V] [--boards b1,b2] [--min-kernel scalar|simd|relaxed]
        [--group G | --devices d1,d2] [--canary N] [--wave-growth F] [--abort-failure-pct P]
        [--timeout S] [--offline-grace S] [--concurrency N] [--no-self-test]
  resume [ROLLOUT]             continue an interrupted rollout (deploy also resumes one for the same model)
  rollback (--rollout ID | --devices d1,d2 | --group G)   back to each device's previous model
  infer (--devices d1,d2 | --group G | --all) [--input FILE ...]   run inference, show latency
  finetune (--devices d1,d2 | --group G | --all) --data DIR|FILE --row-bytes N [--labels FILE]
        [--trainable head|bias] [--epochs N] [--budget 256k] [--args JSON]
                               fine-tune each device's running model on these samples (the
                               qedge finetune data format); a device keeps the result only if
                               its held-out share did not get worse

Rollouts: a canary wave of N devices (default 1), then waves growing by F (default 2). A wave
whose failure rate, or the overall failure rate, exceeds P% (default 10) aborts the rollout and
the devices it changed are rolled back. Devices offline when their wave starts get the
deployment queued and are waited for at the end (--offline-grace). The rollout state lives in
--state-dir (default .qedge/fleet): kill the controller and 'qedge fleet resume' continues.

  --state-dir DIR     rollout records and artifacts (default .qedge/fleet)
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  "state-dir": { type: "string", default: ".qedge/fleet" },
  key: { type: "string" }, "model-id": { type: "string" }, version: { type: "string" }, boards: { type: "string" },
  "min-kernel": { type: "string", default: "scalar" }, "block-size": { type: "string" }, "no-self-test": { type: "boolean" },
  group: { type: "string" }, devices: { type: "string" }, all: { type: "boolean" }, rollout: { type: "string" },
  canary: { type: "string" }, "wave-growth": { type: "string" }, "abort-failure-pct": { type: "string" },
  timeout: { type: "string" }, "offline-grace": { type: "string" }, concurrency: { type: "string" },
  input: { type: "string", multiple: true }, args: { type: "string" },
  data: { type: "string" }, "row-bytes": { type: "string" }, labels: { type: "string" },
  trainable: { type: "string" }, epochs: { type: "string" }, budget: { type: "string" },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>["values"];

async function connect(v: Values, log: (l: string) => void): Promise<FleetController> {
  const ctl = new FleetController({ broker: v.broker!, username: v.username, password: v.password, protocol: protocolOption(v.protocol), log });
  const t = setTimeout(() => log(`still connecting to ${v.broker} ...`), 5000);
  try {
    await ctl.connect();
  } finally {
    clearTimeout(t);
  }
  await ctl.discover();
  return ctl;
}

function deviceRow(d: DeviceView): Record<string, unknown> {
  const s = d.status;
  return {
    device: d.id, state: s?.state, board: s?.board, arch: s?.arch, kernels: s?.kernels,
    model: s?.model ? `${s.model.id}@${s.model.version}` : null, slot: s?.model?.slot, boot: s?.bootSeq,
    job: d.reported?.job ? `${d.reported.job.phase}${d.reported.job.received !== undefined ? ` ${d.reported.job.received}/${d.reported.job.total}` : ""}` : null,
  };
}

function listOption(v: string | undefined): string[] | undefined {
  return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

function targetsOf(ctl: FleetController, v: Values): string[] {
  const devs = ctl.devices();
  const explicit = listOption(v.devices);
  if (explicit) {
    const unknown = explicit.filter((id) => !devs.some((d) => d.id === id));
    if (unknown.length) throw new InvalidArgumentError(`unknown device(s): ${unknown.join(", ")}`);
    return explicit;
  }
  if (v.group) return selectTargets(devs, { group: v.group });
  if (v.all) return devs.map((d) => d.id);
  throw new InvalidArgumentError("name the devices: --devices d1,d2, --group G or --all");
}

function printReport(rep: RolloutReport, json: boolean | undefined): void {
  if (json) { console.log(JSON.stringify(rep, null, 2)); return; }
  console.log(`rollout ${rep.id}: ${rep.phase}${rep.abortReason ? ` (${rep.abortReason})` : ""}`);
  console.log(`model ${rep.model.id}@${rep.model.version} sha256 ${rep.model.sha256.slice(0, 16)}… ${rep.model.size} bytes`);
  console.log(table(rep.waves.map((w) => ({ wave: w.wave + 1, size: w.size, succeeded: w.succeeded, failed: w.failed, offline: w.deferred }))));
  console.log(table(rep.devices.map((d) => ({ device: d.id, wave: d.wave + 1, state: d.state, error: d.error ?? "" }))));
  const t = rep.totals;
  console.log(`${t.targets} device(s): ${t.succeeded} succeeded, ${t.failed} failed, ${t.offline} offline, ${t["rolled-back"]} rolled back, ${t.skipped} skipped`);
}

async function request(ctl: FleetController, ids: string[], cmd: CommandName, args: Record<string, unknown>, timeoutMs: number) {
  return Promise.all(ids.map(async (id) => {
    try {
      return { id, reply: await ctl.request(id, cmd, args, { resultTimeoutMs: timeoutMs, ttlMs: timeoutMs, ackTimeoutMs: Math.min(10_000, timeoutMs) }) };
    } catch (e) {
      return { id, error: errorInfo(e) };
    }
  }));
}

const replyError = (r: { reply?: ReplyMessage; error?: { type: string; message: string } }) =>
  r.error ? `${r.error.type}: ${r.error.message}` : r.reply && !r.reply.ok ? `${r.reply.error?.type}: ${r.reply.error?.message}` : "";

export async function fleetCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, OPTIONS, HELP);
  const [sub, ...rest] = positionals;
  if (v.help || !sub) { console.log(HELP); return sub || v.help ? 0 : 2; }
  const log = makeLogger(v.json);
  const store = new RolloutStore(resolve(v["state-dir"]!));
  const timeoutMs = (numberOption("timeout", v.timeout, 1, 86_400) ?? 120) * 1000;

  if (sub === "status") {
    if (rest[0]) {
      const s = await store.load(rest[0]);
      if (!s) throw new InvalidArgumentError(`no rollout '${rest[0]}' in ${store.dir}`);
      printReport(rolloutReport(s), v.json);
      return 0;
    }
    const all = (await store.list()).map((s) => {
      const r = rolloutReport(s);
      return { rollout: s.id, model: `${s.model.id}@${s.model.version}`, phase: s.phase, targets: r.totals.targets, succeeded: r.totals.succeeded,
        failed: r.totals.failed, offline: r.totals.offline, updated: new Date(s.updatedAt).toISOString() };
    });
    console.log(v.json ? JSON.stringify(all, null, 2) : table(all));
    return 0;
  }

  const ctl = await connect(v, log);
  try {
    switch (sub) {
      case "devices": {
        const rows = ctl.devices().map(deviceRow);
        console.log(v.json ? JSON.stringify(ctl.devices().map((d) => ({ id: d.id, online: d.online, status: d.status, reported: d.reported, telemetry: d.telemetry })), null, 2) : table(rows));
        return 0;
      }
      case "deploy":
      case "resume": {
        let state: RolloutState | null;
        if (sub === "resume") {
          const open = (await store.list()).filter((s) => s.phase === "running");
          state = rest[0] ? await store.load(rest[0]) : open.at(-1) ?? null;
          if (!state) throw new InvalidArgumentError(rest[0] ? `no rollout '${rest[0]}' in ${store.dir}` : `no unfinished rollout in ${store.dir}`);
          if (state.phase !== "running") { printReport(rolloutReport(state), v.json); return 0; }
          log(`resuming rollout ${state.id}`);
        } else {
          if (rest.length !== 1) throw new InvalidArgumentError(`deploy takes one MODEL file\n\n${HELP}`);
          if (!v.key) throw new InvalidArgumentError("--key PRIVATE_KEY is required (make one with 'qedge keygen --out DIR')");
          const bytes = readFileOrThrow(rest[0], "model");
          const minKernel = v["min-kernel"] as KernelLevel;
          if (!KERNEL_LEVELS.includes(minKernel)) throw new InvalidArgumentError(`--min-kernel: expected one of ${KERNEL_LEVELS.join(", ")}`);
          const modelId = v["model-id"] ?? basename(rest[0]).replace(/\.tflite$/i, "").replace(/[^A-Za-z0-9._-]/g, "_");
          const art = await makeArtifact(bytes, loadSigningKey(v.key), {
            modelId, version: v.version ?? sha256Hex(bytes).slice(0, 12), boards: listOption(v.boards), minKernel,
            blockSize: numberOption("block-size", v["block-size"], 256, 256 * 1024),
            selfTestRuntime: v["no-self-test"] ? undefined : new QedgeRuntime(),
          });
          const sha = art.signed.manifest.sha256;
          const open = (await store.list()).find((s) => s.phase === "running" && s.model.sha256 === sha);
          if (open) {
            log(`an unfinished rollout of this model exists: resuming ${open.id}`);
            state = open;
          } else {
            const params: RolloutParams = {
              ...ROLLOUT_DEFAULTS,
              group: v.group, devices: listOption(v.devices),
              canary: numberOption("canary", v.canary, 1) ?? ROLLOUT_DEFAULTS.canary,
              waveGrowth: numberOption("wave-growth", v["wave-growth"], 1, 1000) ?? ROLLOUT_DEFAULTS.waveGrowth,
              abortFailurePct: numberOption("abort-failure-pct", v["abort-failure-pct"], 0, 100) ?? ROLLOUT_DEFAULTS.abortFailurePct,
              deviceTimeoutMs: timeoutMs,
              offlineGraceMs: (numberOption("offline-grace", v["offline-grace"], 0, 86_400 * 7) ?? timeoutMs / 1000) * 1000,
              concurrency: numberOption("concurrency", v.concurrency, 1, 100_000) ?? ROLLOUT_DEFAULTS.concurrency,
            };
            const targets = selectTargets(ctl.devices(), params);
            await store.saveArtifact(sha, bytes);
            state = createRollout(targets, art.deployment, params);
            await store.save(state);
            log(`rollout ${state.id}: ${modelId}@${art.signed.manifest.version} to ${targets.length} device(s) in ${state.waves.length} wave(s) [${state.waves.map((w) => w.length).join(", ")}]`);
          }
        }
        const rep = await runRollout(ctl, store, state, { log });
        printReport(rep, v.json);
        return rep.phase === "completed" && rep.totals.failed === 0 ? 0 : 1;
      }
      case "rollback": {
        let pairs: { id: string; from?: string }[];
        if (v.rollout) {
          const s = await store.load(v.rollout);
          if (!s) throw new InvalidArgumentError(`no rollout '${v.rollout}' in ${store.dir}`);
          pairs = Object.entries(s.devices).filter(([, d]) => d.state === "succeeded").map(([id]) => ({ id, from: s.model.sha256 }));
        } else {
          pairs = targetsOf(ctl, v).map((id) => ({ id }));
        }
        const results = await Promise.all(pairs.map(async (p) => {
          ctl.setDesired(p.id, null);
          const [r] = await request(ctl, [p.id], "rollback", p.from ? { from: p.from } : {}, timeoutMs);
          return r;
        }));
        const rows = results.map((r) => ({
          device: r.id, ok: !!r.reply?.ok,
          model: (r.reply?.result as { model?: { id: string; version: string } } | undefined)?.model ? `${(r.reply!.result as { model: { id: string; version: string } }).model.id}@${(r.reply!.result as { model: { id: string; version: string } }).model.version}` : null,
          error: replyError(r),
        }));
        console.log(v.json ? JSON.stringify(rows, null, 2) : table(rows));
        return rows.every((r) => r.ok) ? 0 : 1;
      }
      case "infer": {
        const ids = targetsOf(ctl, v);
        const inputs = (v.input ?? []).map((f) => Buffer.from(readFileOrThrow(f, "input")).toString("base64"));
        const results = await request(ctl, ids, "infer", inputs.length ? { inputs } : {}, timeoutMs);
        const rows = results.map((r) => {
          const res = r.reply?.result as { model?: { id: string; version: string }; latencyMs?: number; kernels?: string; outputs?: string[] } | undefined;
          return {
            device: r.id, board: ctl.device(r.id)?.status?.board, model: res?.model ? `${res.model.id}@${res.model.version}` : null,
            kernels: res?.kernels, latencyMs: res?.latencyMs !== undefined ? Number(res.latencyMs.toFixed(3)) : null,
            output: res?.outputs?.[0] ? Buffer.from(res.outputs[0], "base64").subarray(0, 12).toString("hex") : null, error: replyError(r),
          };
        });
        console.log(v.json ? JSON.stringify(results.map((r) => ({ device: r.id, reply: r.reply, error: r.error })), null, 2) : table(rows));
        return rows.every((r) => !r.error) ? 0 : 1;
      }
      case "finetune": {
        const ids = targetsOf(ctl, v);
        let a: Record<string, unknown> = {};
        if (v.args) {
          try { a = JSON.parse(v.args); } catch (e) { throw new InvalidArgumentError(`--args: not JSON (${(e as Error).message})`); }
        }
        if (v.data) {
          const rowBytes = Number(v["row-bytes"]);
          if (!Number.isInteger(rowBytes) || rowBytes < 1) throw new InvalidArgumentError("--data needs --row-bytes N (the model input's size in bytes)");
          const { loadSamples } = await import("../train/data.js");
          const set = loadSamples(v.data, rowBytes, v.labels);
          a.inputs = set.inputs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("base64"));
          if (set.labels) a.labels = set.labels;
        }
        if (v.trainable) a.trainable = v.trainable;
        if (v.epochs) a.epochs = Number(v.epochs);
        if (v.budget) a.budget = v.budget;
        const results = await request(ctl, ids, "finetune", a, timeoutMs);
        const rows = results.map((r) => ({ device: r.id, ok: !!r.reply?.ok, result: r.reply?.ok ? JSON.stringify(r.reply.result) : null, error: replyError(r) }));
        console.log(v.json ? JSON.stringify(rows, null, 2) : table(rows));
        return rows.every((r) => r.ok) ? 0 : 1;
      }
      default:
        throw new InvalidArgumentError(`unknown subcommand '${sub}'\n\n${HELP}`);
    }
  } finally {
    await ctl.close();
  }
}
