// The device agent: keeps one MQTT session to the broker, announces itself, takes commands,
// installs signed models into A/B slots, runs inference and reports telemetry.
//
// Protocol rules it follows (see host/fleet/protocol.ts and host/fleet/README.md):
// - persistent session (clean=false, bounded session expiry on MQTT 5); when CONNACK says the
//   session is gone it resubscribes and re-reads desired state and its own pending job;
// - retained birth on `status` with (bootSeq, conn); the Will carries the same pair as "lost";
// - every command gets `accepted` or `rejected` at once, then a `result`; ids, reply topic
//   and expiry come in the payload (MQTT 3.1.1) and MQTT 5 properties are honoured too;
// - nothing a message contains can crash the agent or touch the installed model: all
//   failures become typed errors in replies.
import type { KeyObject } from "node:crypto";
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from "mqtt";
import { InvalidArgumentError, QedgeError } from "../errors.js";
import {
  ArtifactTooLargeError, BusyError, errorInfo, HealthCheckError, IncompatibleArtifactError, NoModelError,
  PowerCutError, ProtocolError, UnsupportedCommandError,
} from "../fleet/errors.js";
import { verifySignedManifest, type Manifest, type SignedManifest } from "../fleet/manifest.js";
import {
  COMMANDS, decodeBlock, isObject, parseCommand, parseDeployment, parseDesired, parseJson, parseStatus, parseTopic,
  topics, checkDeviceId, type CommandMessage, type DeploymentSpec, type ModelRef, type ReplyMessage, type ReplyPhase,
  type ReportedState, type StatusMessage,
} from "../fleet/protocol.js";
import { kernelSatisfies, type BoardProfile } from "./board.js";
import { BlockDownload, DEFAULT_DOWNLOAD, discardStaging, type DownloadOptions } from "./download.js";
import { DEFAULT_REPLAY, ReplayGuard, type ReplayOptions } from "./replay.js";
import { outputsDigest, selfTestInputs, type ModelRuntime, type RunnableModel } from "./runtime.js";
import { SlotStore, type InstallStep, type SlotName, type VerifiedSlot } from "./slots.js";
import { readJson, removeDurable, writeDurableJson, type Storage } from "./storage.js";
import { LatencyStats } from "./telemetry.js";

export type AgentStep = "job-accepted" | "download" | "download-done" | "verify" | InstallStep | "health-check" | "job-done";

export interface AgentHooks {
  /** Awaited at each install step; fault injection cuts power here. */
  step?: (step: AgentStep, deviceId: string) => Promise<void> | void;
  /** Awaited before each incoming message is handled (link delay faults). */
  beforeMessage?: (topic: string) => Promise<void> | void;
  /** Called for a `reboot` command; the default restarts the agent in-process. */
  reboot?: () => void;
}

export interface FinetuneContext {
  model: RunnableModel;
  modelRef: ModelRef;
  args: Record<string, unknown>;
  storage: Storage;
  /** The active model's verified bytes (as installed in its slot). */
  bytes: Uint8Array;
  /** Put a tuned model in service (RAM only: the verified, signed slot model is what boots). */
  swap(bytes: Uint8Array): Promise<void>;
}

export interface DeviceAgentOptions {
  id: string;
  broker: string;
  username?: string;
  password?: string;
  storage: Storage;
  runtime: ModelRuntime;
  trustedKeys: KeyObject[];
  board: BoardProfile;
  group?: string;
  firmware?: string;
  /** "auto" tries MQTT 5 and falls back to 3.1.1 when the broker refuses it. */
  protocol?: "auto" | 4 | 5;
  /** Device clock (ms); the simulator skews it. */
  clock?: () => number;
  sessionExpirySec?: number;
  keepaliveSec?: number;
  reconnectMs?: number;
  connectTimeoutMs?: number;
  telemetryIntervalMs?: number;
  download?: Partial<DownloadOptions>;
  replay?: Partial<ReplayOptions>;
  /** Fine-tuning hook (training API); without it `finetune` is answered "unsupported". */
  finetune?: (ctx: FinetuneContext) => Promise<unknown>;
  hooks?: AgentHooks;
  log?: (line: string) => void;
}

interface Waiter {
  id: string;
  replyTo: string;
  corr?: string; // base64 MQTT 5 correlation data
}

interface JobRecord {
  id: string;
  sha256: string;
  spec: DeploymentSpec;
  desiredVersion?: number;
  waiters: Waiter[];
  createdAt: number;
}

interface ActiveModel {
  slot: SlotName;
  signed: SignedManifest;
  model: RunnableModel;
}

interface AgentFile {
  bootCount: number;
  desiredVersion: number;
}

/** Payloads larger than this on command / state topics are refused unread. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const AGENT_FILE = "agent.json";
const JOB_FILE = "job.json";

export class DeviceAgent {
  readonly id: string;
  private readonly o: DeviceAgentOptions;
  private readonly slots: SlotStore;
  private readonly replay: ReplayGuard;
  private readonly latency = new LatencyStats(512);
  private client: MqttClient | null = null;
  private protocolVersion: 4 | 5 = 5;
  private bootSeq = 0;
  private conn = 0;
  private desiredVersion = 0;
  private reportSeq = 0;
  private active: ActiveModel | null = null;
  private job: JobRecord | null = null;
  private jobPhase = "idle";
  private jobError: { type: string; message: string } | undefined;
  private download: BlockDownload | null = null;
  private pendingDesired: DeploymentSpec | null = null;
  private arenaHighWater = 0;
  private inferQueue: Promise<unknown> = Promise.resolve();
  private telemetryTimer: NodeJS.Timeout | null = null;
  private connected = false;
  private stopping = false;
  private killed = false;
  /** Counters for tests and the simulator. */
  readonly stats = {
    connects: 0, sessionLost: 0, rebirths: 0, commands: 0, rejected: 0, installs: 0, rollbacks: 0, healthFailures: 0, messagesIn: 0, messagesOut: 0,
  };

  constructor(opts: DeviceAgentOptions) {
    this.id = checkDeviceId(opts.id);
    this.o = opts;
    this.slots = new SlotStore(opts.storage, opts.trustedKeys);
    this.replay = new ReplayGuard(opts.storage, { ...DEFAULT_REPLAY, ...opts.replay });
    this.protocolVersion = opts.protocol === 4 ? 4 : 5;
  }

  private log(line: string): void {
    this.o.log?.(`[${this.id}] ${line}`);
  }

  private now(): number {
    return this.o.clock ? this.o.clock() : Date.now();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get mqttVersion(): 4 | 5 {
    return this.protocolVersion;
  }

  get activeModel(): ModelRef | null {
    return this.active ? { ...this.slots.activeRef()!, slot: this.active.slot } : null;
  }

  get busy(): boolean {
    return this.job !== null;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Boots from storage (verified model, pending job), then connects. */
  async start(): Promise<void> {
    const st = this.o.storage;
    const saved = await readJson<AgentFile>(st, AGENT_FILE);
    this.bootSeq = (saved?.bootCount ?? 0) + 1;
    this.desiredVersion = saved?.desiredVersion ?? 0;
    await this.saveAgentFile();
    await this.replay.load();
    await this.bootModel();
    this.job = await readJson<JobRecord>(st, JOB_FILE);
    if (this.job && (!Array.isArray(this.job.waiters) || typeof this.job.sha256 !== "string")) this.job = null;
    this.connect();
    if (this.o.telemetryIntervalMs) {
      this.telemetryTimer = setInterval(() => this.publishTelemetry(), this.o.telemetryIntervalMs);
      this.telemetryTimer.unref();
    }
  }

  private async saveAgentFile(): Promise<void> {
    await writeDurableJson(this.o.storage, AGENT_FILE, { bootCount: this.bootSeq, desiredVersion: this.desiredVersion } satisfies AgentFile);
  }

  /** Loads the first slot that verifies (signature, digest) and loads in the runtime. */
  private async bootModel(): Promise<void> {
    await this.slots.load();
    const failed: SlotName[] = [];
    for (const slot of this.slots.candidates()) {
      try {
        const v = await this.slots.verify(slot);
        const model = await this.o.runtime.load(v.bytes, { kernels: this.o.board.kernels, maxMemoryBytes: this.o.board.maxMemoryBytes });
        this.active = { slot, signed: v.signed, model };
        this.arenaHighWater = Math.max(this.arenaHighWater, model.memory.arenaBytes);
        break;
      } catch (e) {
        if (e instanceof PowerCutError) throw e;
        this.log(`boot: slot ${slot} rejected: ${errorInfo(e).type}: ${errorInfo(e).message}`);
        failed.push(slot);
      }
    }
    await this.slots.markBooted(this.active?.slot ?? null, failed);
    this.log(`boot #${this.bootSeq}: ${this.active ? `model ${this.active.signed.manifest.modelId}@${this.active.signed.manifest.version} (slot ${this.active.slot})` : "no model"}`);
  }

  private willPayload(): Buffer {
    return Buffer.from(JSON.stringify({ state: "lost", bootSeq: this.bootSeq, conn: this.conn } satisfies StatusMessage));
  }

  private connect(): void {
    this.conn++;
    const v = this.protocolVersion;
    const opts: IClientOptions = {
      clientId: this.id,
      username: this.o.username,
      password: this.o.password,
      clean: false,
      protocolVersion: v,
      keepalive: this.o.keepaliveSec ?? 30,
      reconnectPeriod: this.o.reconnectMs ?? 1000,
      connectTimeout: this.o.connectTimeoutMs ?? 10_000,
      resubscribe: false,
      will: { topic: topics.status(this.id), payload: this.willPayload(), qos: 1, retain: true },
    };
    if (v === 5) opts.properties = { sessionExpiryInterval: this.o.sessionExpirySec ?? 3600 };
    const client = mqtt.connect(this.o.broker, opts);
    this.client = client;
    client.on("connect", (connack) => {
      if (this.client !== client) return;
      this.onConnect(connack.sessionPresent).catch((e) => this.fatal(e));
    });
    client.on("message", (topic, payload, packet) => {
      if (this.client !== client) return;
      this.onMessage(topic, payload, packet.properties ?? {}).catch((e) => this.fatal(e));
    });
    client.on("close", () => {
      if (this.client !== client) return;
      if (this.connected) this.log("link down");
      this.connected = false;
      this.download?.disconnected();
      // The next connection gets the next number, in its Will too.
      this.conn++;
      if (client.options.will) client.options.will.payload = this.willPayload();
    });
    client.on("error", (e: Error & { code?: number }) => {
      if (this.client !== client) return;
      if (this.o.protocol !== 4 && this.o.protocol !== 5 && v === 5 && (e.code === 1 || e.code === 132)) {
        this.log("broker refused MQTT 5: falling back to MQTT 3.1.1");
        this.protocolVersion = 4;
        this.client = null;
        client.end(true);
        this.connect();
        return;
      }
      this.log(`mqtt error: ${e.message}`);
    });
  }

  private async onConnect(sessionPresent: boolean): Promise<void> {
    this.connected = true;
    this.stats.connects++;
    const id = this.id;
    if (!sessionPresent) {
      if (this.stats.connects > 1) this.stats.sessionLost++;
      await this.subscribe({ [topics.cmdAll(id)]: { qos: 1 }, [topics.status(id)]: { qos: 1 }, [topics.streamDataAll(id)]: { qos: 0 } });
    }
    // Always re-read the full desired state (a retained message), never rely on deltas alone.
    await this.subscribe({ [topics.desired(id)]: { qos: 1 } });
    this.publishBirth();
    this.publishReported();
    this.log(`connected (MQTT ${this.protocolVersion === 5 ? "5" : "3.1.1"}, session ${sessionPresent ? "resumed" : "new"}, conn ${this.conn})`);
    if (this.job && !this.download && this.jobPhase === "idle") this.runJob(this.job);
    else this.download?.reconnected();
  }

  private subscribe(map: Record<string, { qos: 0 | 1 }>): Promise<void> {
    return new Promise((resolve) => {
      const names = Object.keys(map);
      this.client?.subscribe(map, (err, _subs, packet) => {
        const codes = (packet as { granted?: number[] } | undefined)?.granted ?? [];
        const refused = names.filter((_, i) => (codes[i] ?? 0) >= 0x80);
        if (refused.length) this.log(`subscription to ${refused.join(", ")} refused by the broker`);
        else if (err) this.log(`subscribe failed: ${err.message}`);
        resolve();
      });
    });
  }

  /** Graceful stop: marks itself offline (same bootSeq) and disconnects; the Will is discarded. */
  async stop(): Promise<void> {
    if (this.killed) return;
    this.stopping = true;
    this.clearTimers();
    const c = this.client;
    if (c && this.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        c.publish(topics.status(this.id), JSON.stringify({ state: "offline", bootSeq: this.bootSeq, conn: this.conn, ts: this.now() } satisfies StatusMessage),
          { qos: 1, retain: true }, () => { clearTimeout(t); resolve(); });
      });
    }
    this.download?.cancel(new PowerCutError("agent stopped"));
    this.client = null;
    this.connected = false;
    if (c) await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    this.active?.model.dispose();
    this.active = null;
    this.killed = true;
  }

  /** Abrupt stop, as a power cut: no DISCONNECT, so the broker publishes the Will. */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.clearTimers();
    this.download?.cancel(new PowerCutError("power cut"));
    const c = this.client;
    this.client = null;
    this.connected = false;
    c?.end(true);
    this.active?.model.dispose();
    this.active = null;
  }

  /** Drops the network link; the mqtt client reconnects by itself (fault injection). */
  dropLink(): void {
    const s = (this.client as unknown as { stream?: { destroy(): void } } | null)?.stream;
    s?.destroy();
  }

  get halted(): boolean {
    return this.killed;
  }

  private clearTimers(): void {
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.telemetryTimer = null;
  }

  /** Errors that escape a handler: a power cut halts silently, anything else is logged. */
  private fatal(e: unknown): void {
    if (e instanceof PowerCutError || this.killed) return;
    this.log(`internal error: ${(e as Error)?.stack ?? e}`);
  }

  // ------------------------------------------------------------------ publishing

  private publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions): void {
    const c = this.client;
    if (!c || this.killed) return;
    if (this.protocolVersion !== 5) delete opts.properties;
    this.stats.messagesOut++;
    c.publish(topic, payload, opts, (err) => {
      if (err && !this.killed) this.log(`publish to ${topic} failed: ${err.message}`);
    });
  }

  private statusMessage(): StatusMessage {
    return {
      state: "ready", bootSeq: this.bootSeq, conn: this.conn, board: this.o.board.name, arch: this.o.board.arch,
      kernels: this.active?.model.kernels ?? this.o.board.kernels, model: this.activeModel, ts: this.now(),
      ...(this.o.group ? { group: this.o.group } : {}), ...(this.o.firmware ? { firmware: this.o.firmware } : {}),
    };
  }

  private publishBirth(): void {
    this.publish(topics.status(this.id), JSON.stringify(this.statusMessage()), { qos: 1, retain: true });
  }

  private reportedState(): ReportedState {
    const b = this.slots.boot;
    return {
      version: this.bootSeq * 1_000_000 + ++this.reportSeq,
      desiredVersion: this.desiredVersion,
      model: this.activeModel,
      slots: { a: { ...b.slots.a }, b: { ...b.slots.b } },
      job: this.job ? {
        id: this.job.id, sha256: this.job.sha256, phase: this.jobPhase,
        ...(this.download ? this.download.progress : {}), ...(this.jobError ? { error: this.jobError } : {}),
      } : null,
      ts: this.now(),
    };
  }

  private publishReported(): void {
    this.publish(topics.reported(this.id), JSON.stringify(this.reportedState()), { qos: 1, retain: true });
  }

  private publishTelemetry(): void {
    if (!this.connected) return;
    const m = this.active;
    this.publish(topics.telemetry(this.id, "inference"), JSON.stringify({
      ts: this.now(), model: this.activeModel, ...this.latency.summary(),
      arenaHighWaterBytes: this.arenaHighWater, wasmMemoryBytes: m?.model.memory.wasmMemoryBytes ?? 0, kernels: m?.model.kernels ?? null,
    }), { qos: 0 });
  }

  private reply(w: Waiter, cmd: string, phase: ReplyPhase, ok: boolean, extra: { result?: unknown; error?: unknown } = {}): void {
    const msg: ReplyMessage = { id: w.id, device: this.id, cmd, phase, ok, ts: this.now() };
    if (extra.result !== undefined) msg.result = extra.result;
    if (extra.error !== undefined) msg.error = errorInfo(extra.error);
    if (phase === "rejected") this.stats.rejected++;
    this.publish(w.replyTo, JSON.stringify(msg), {
      qos: 1,
      properties: w.corr ? { correlationData: Buffer.from(w.corr, "base64") } : undefined,
    });
  }

  private isOwnReplyTopic(t: unknown): t is string {
    if (typeof t !== "string") return false;
    const p = t.split("/");
    return p.length === 5 && t.startsWith(`${topics.root(this.id)}/reply/`) && /^[A-Za-z0-9._-]+$/.test(p[4]);
  }

  // ------------------------------------------------------------------ incoming

  private async onMessage(topic: string, payload: Buffer, props: { responseTopic?: string; correlationData?: Buffer }): Promise<void> {
    if (this.killed) return;
    this.stats.messagesIn++;
    await this.o.hooks?.beforeMessage?.(topic);
    if (this.killed) return;
    const t = parseTopic(topic);
    if (!t || t.device !== this.id) return;
    try {
      if (t.kind === "stream" && t.rest[1] === "data") {
        if (!this.download || t.rest[0] !== this.download.stream) return;
        const { header, data } = decodeBlock(payload);
        this.download.onBlock(header, data);
        return;
      }
      if (payload.length > MAX_MESSAGE_BYTES) {
        throw new ProtocolError(`${topic}: message of ${payload.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
      }
      if (t.kind === "cmd" && t.rest.length === 1) await this.onCommand(t.rest[0], payload, props);
      else if (t.kind === "state" && t.rest[0] === "desired") await this.onDesired(payload);
      else if (t.kind === "status") this.onOwnStatus(payload);
    } catch (e) {
      if (e instanceof PowerCutError || this.killed) throw e;
      this.log(`dropped message on ${topic}: ${errorInfo(e).type}: ${errorInfo(e).message}`);
    }
  }

  /** A late Will (or a stale retained status) overwrote our birth: publish it again. */
  private onOwnStatus(payload: Buffer): void {
    if (payload.length === 0 || !this.connected || this.stopping) return;
    const s = parseStatus(payload);
    if (s.state !== "ready") {
      this.stats.rebirths++;
      this.log(`status shows '${s.state}' (boot ${s.bootSeq}/${s.conn}): rebirth`);
      this.publishBirth();
    }
  }

  private async onCommand(name: string, payload: Buffer, props: { responseTopic?: string; correlationData?: Buffer }): Promise<void> {
    this.stats.commands++;
    const corr = props.correlationData ? Buffer.from(props.correlationData).toString("base64") : undefined;
    let cmd: CommandMessage;
    try {
      cmd = parseCommand(payload, `cmd/${name}`);
    } catch (e) {
      // Answer a malformed command if it names a reply topic we may publish to.
      let replyTo: unknown = props.responseTopic;
      let id: unknown;
      try {
        const o = parseJson(payload, "command");
        if (isObject(o)) { replyTo = this.isOwnReplyTopic(o.replyTo) ? o.replyTo : replyTo; id = o.id; }
      } catch { /* not JSON at all */ }
      if (this.isOwnReplyTopic(replyTo)) this.reply({ id: typeof id === "string" ? id.slice(0, 128) : "unknown", replyTo, corr }, name, "rejected", false, { error: e });
      throw e;
    }
    if (!this.isOwnReplyTopic(cmd.replyTo)) {
      throw new ProtocolError(`cmd/${name}: replyTo '${cmd.replyTo}' is not under ${topics.root(this.id)}/reply/`);
    }
    const w: Waiter = { id: cmd.id, replyTo: cmd.replyTo, corr };
    try {
      if (!(COMMANDS as readonly string[]).includes(name)) throw new ProtocolError(`unknown command '${name}'`);
      await this.replay.admit(cmd, this.now());
    } catch (e) {
      if (e instanceof PowerCutError) throw e;
      this.reply(w, name, "rejected", false, { error: e });
      return;
    }
    try {
      switch (name) {
        case "status":
          this.reply(w, name, "accepted", true);
          this.reply(w, name, "result", true, { result: { status: this.statusMessage(), reported: this.reportedState(), telemetry: this.latency.summary() } });
          break;
        case "infer":
          await this.cmdInfer(w, cmd);
          break;
        case "deploy":
          await this.cmdDeploy(w, cmd);
          break;
        case "rollback":
          await this.cmdRollback(w, cmd);
          break;
        case "reboot":
          this.reply(w, name, "accepted", true);
          this.reply(w, name, "result", true, { result: { rebooting: true, bootSeq: this.bootSeq } });
          setTimeout(() => this.reboot().catch((e) => this.fatal(e)), 100);
          break;
        case "finetune":
          await this.cmdFinetune(w, cmd);
          break;
      }
    } catch (e) {
      if (e instanceof PowerCutError || this.killed) throw e;
      this.reply(w, name, "rejected", false, { error: e });
    }
  }

  private async reboot(): Promise<void> {
    if (this.o.hooks?.reboot) {
      this.o.hooks.reboot();
      return;
    }
    await this.stop();
    this.killed = false;
    this.stopping = false;
    this.job = null;
    this.jobPhase = "idle";
    await this.start();
  }

  // ------------------------------------------------------------------ commands

  private async cmdInfer(w: Waiter, cmd: CommandMessage): Promise<void> {
    const a = this.active;
    if (!a) throw new NoModelError("no model installed");
    const raw = cmd.args.inputs ?? (cmd.args.input !== undefined ? [cmd.args.input] : undefined);
    let inputs: Uint8Array[];
    if (raw === undefined) {
      inputs = selfTestInputs(a.model, a.signed.manifest.selfTest?.inputSeed ?? 1);
    } else {
      if (!Array.isArray(raw) || raw.length !== a.model.inputs.length || !raw.every((x) => typeof x === "string")) {
        throw new InvalidArgumentError(`infer: expected ${a.model.inputs.length} base64 input(s)`);
      }
      inputs = raw.map((s, i) => {
        const b = new Uint8Array(Buffer.from(s as string, "base64"));
        if (b.length !== a.model.inputs[i].byteLength) throw new InvalidArgumentError(`infer: input ${i} has ${b.length} bytes, the model takes ${a.model.inputs[i].byteLength}`);
        return b;
      });
    }
    this.reply(w, "infer", "accepted", true);
    const { outputs, latencyMs } = await this.infer(a, inputs);
    this.reply(w, "infer", "result", true, {
      result: { model: this.activeModel, kernels: a.model.kernels, latencyMs, outputs: outputs.map((o) => Buffer.from(o).toString("base64")) },
    });
  }

  /** Runs one inference on the active model; invocations are serialised (one instance). */
  private infer(a: ActiveModel, inputs: Uint8Array[]): Promise<{ outputs: Uint8Array[]; latencyMs: number }> {
    const run = this.inferQueue.then(async () => {
      const t0 = performance.now();
      const outputs = await a.model.run(inputs);
      const latencyMs = performance.now() - t0;
      this.latency.add(latencyMs);
      return { outputs, latencyMs };
    });
    this.inferQueue = run.catch(() => {});
    return run;
  }

  private async cmdFinetune(w: Waiter, cmd: CommandMessage): Promise<void> {
    if (!this.o.finetune) throw new UnsupportedCommandError("fine-tuning is not supported by this agent yet");
    const a = this.active;
    if (!a) throw new NoModelError("no model installed");
    this.reply(w, "finetune", "accepted", true);
    try {
      const verified = await this.slots.verify(a.slot);
      const swap = async (bytes: Uint8Array) => {
        const b = this.o.board;
        const model = await this.o.runtime.load(bytes, { kernels: b.kernels, maxMemoryBytes: b.maxMemoryBytes });
        // Serialised with inference: no invoke sees a half-swapped model.
        await this.inferQueue;
        if (this.active === a) {
          this.active = { ...a, model };
          a.model.dispose();
        } else {
          model.dispose();
        }
      };
      const result = await this.o.finetune({
        model: a.model, modelRef: this.activeModel!, args: cmd.args, storage: this.o.storage, bytes: verified.bytes, swap,
      });
      this.reply(w, "finetune", "result", true, { result });
    } catch (e) {
      if (e instanceof PowerCutError) throw e;
      this.reply(w, "finetune", "result", false, { error: e });
    }
  }

  /** Checks a deployment before accepting it: signature, manifest, board, size. */
  private vet(spec: DeploymentSpec): SignedManifest {
    const signed = verifySignedManifest(spec.signed, this.o.trustedKeys);
    const m = signed.manifest;
    const b = this.o.board;
    if (!m.boards.includes("*") && !m.boards.includes(b.name)) {
      throw new IncompatibleArtifactError(`${m.modelId}@${m.version} is built for ${m.boards.join(", ")}, this board is ${b.name}`);
    }
    if (!kernelSatisfies(b.kernels, m.minKernel)) {
      throw new IncompatibleArtifactError(`${m.modelId}@${m.version} needs ${m.minKernel} kernels, this board runs ${b.kernels}`);
    }
    if (m.size > b.maxArtifactBytes) throw new ArtifactTooLargeError(`${m.modelId}@${m.version} is ${m.size} bytes, this board accepts ${b.maxArtifactBytes}`);
    return signed;
  }

  private async cmdDeploy(w: Waiter, cmd: CommandMessage): Promise<void> {
    const spec = parseDeployment(cmd.args, "deploy.args");
    const signed = this.vet(spec);
    const m = signed.manifest;
    if (this.active?.signed.manifest.sha256 === m.sha256) {
      this.reply(w, "deploy", "accepted", true);
      this.reply(w, "deploy", "result", true, { result: { model: this.activeModel, alreadyInstalled: true } });
      return;
    }
    if (this.job) {
      if (this.job.sha256 !== m.sha256) throw new BusyError(`installing ${this.job.sha256.slice(0, 12)} (job ${this.job.id})`);
      this.job.waiters.push(w);
      await writeDurableJson(this.o.storage, JOB_FILE, this.job);
      this.reply(w, "deploy", "accepted", true, { result: { joined: this.job.id } });
      return;
    }
    const job: JobRecord = { id: cmd.id, sha256: m.sha256, spec, waiters: [w], createdAt: this.now() };
    await writeDurableJson(this.o.storage, JOB_FILE, job);
    this.job = job;
    this.reply(w, "deploy", "accepted", true);
    this.runJob(job);
  }

  private async cmdRollback(w: Waiter, cmd: CommandMessage): Promise<void> {
    if (this.job) throw new BusyError(`installing ${this.job.sha256.slice(0, 12)} (job ${this.job.id})`);
    const from = cmd.args.from;
    if (from !== undefined && (typeof from !== "string" || !/^[0-9a-f]{64}$/.test(from))) throw new InvalidArgumentError("rollback.from: expected a SHA-256");
    const cur = this.active;
    // Idempotent: a retried rollback must not flip back again.
    if (from && cur?.signed.manifest.sha256 !== from) {
      this.reply(w, "rollback", "accepted", true);
      this.reply(w, "rollback", "result", true, { result: { model: this.activeModel, alreadyRolledBack: true } });
      return;
    }
    const target: SlotName = cur ? (cur.slot === "a" ? "b" : "a") : "a";
    if (this.slots.boot.slots[target].state !== "good") throw new NoModelError(`no previous verified model to roll back to (slot ${target} is ${this.slots.boot.slots[target].state})`);
    const v = await this.slots.verify(target);
    this.reply(w, "rollback", "accepted", true);
    try {
      const h = await this.healthCheck(v);
      await this.slots.switchTo(target);
      this.swapActive({ slot: target, signed: v.signed, model: h.model });
      this.stats.rollbacks++;
      this.publishBirth();
      this.publishReported();
      this.reply(w, "rollback", "result", true, { result: { model: this.activeModel } });
    } catch (e) {
      if (e instanceof PowerCutError || this.killed) throw e;
      this.reply(w, "rollback", "result", false, { error: e });
    }
  }

  private swapActive(next: ActiveModel): void {
    const old = this.active;
    this.active = next;
    this.arenaHighWater = Math.max(this.arenaHighWater, next.model.memory.arenaBytes);
    if (old && old.model !== next.model) {
      // Let queued inferences on the old instance finish first.
      this.inferQueue = this.inferQueue.then(() => old.model.dispose());
    }
  }

  // ------------------------------------------------------------------ desired state

  private async onDesired(payload: Buffer): Promise<void> {
    if (payload.length === 0) return;
    const d = parseDesired(payload);
    if (d.version <= this.desiredVersion) {
      return; // stale or already applied
    }
    if (this.job) {
      if (d.deployment && d.deployment.signed.manifest.sha256 === this.job.sha256) {
        this.desiredVersion = d.version;
        await this.saveAgentFile();
      } else {
        this.pendingDesired = d.deployment; // applied once the running job ends
        this.pendingDesiredVersion = d.version;
      }
      return;
    }
    this.desiredVersion = d.version;
    await this.saveAgentFile();
    if (d.deployment) this.applyDeployment(d.deployment, d.version);
    this.publishReported();
  }

  private pendingDesiredVersion = 0;

  /** Starts an install requested by desired state (no reply topic: the outcome goes to reported state). */
  private applyDeployment(spec: DeploymentSpec, version: number): void {
    let signed: SignedManifest;
    try {
      signed = this.vet(spec);
    } catch (e) {
      this.jobError = errorInfo(e);
      this.log(`desired deployment refused: ${this.jobError.type}: ${this.jobError.message}`);
      return;
    }
    if (this.active?.signed.manifest.sha256 === signed.manifest.sha256) return;
    const job: JobRecord = { id: `desired-${version}`, sha256: signed.manifest.sha256, spec, desiredVersion: version, waiters: [], createdAt: this.now() };
    this.job = job;
    writeDurableJson(this.o.storage, JOB_FILE, job).then(() => this.runJob(job), (e) => this.fatal(e));
  }

  // ------------------------------------------------------------------ install job

  private async step(s: AgentStep): Promise<void> {
    if (this.killed) throw new PowerCutError("agent halted");
    await this.o.hooks?.step?.(s, this.id);
    if (this.killed) throw new PowerCutError("agent halted");
  }

  private setPhase(p: string): void {
    this.jobPhase = p;
    this.publishReported();
  }

  /** Runs (or resumes) an install job to its end; never throws. */
  private runJob(job: JobRecord): void {
    this.jobError = undefined;
    this.jobPhase = "starting";
    this.execute(job).then(
      (result) => this.finishJob(job, true, result),
      (e) => {
        if (e instanceof PowerCutError || this.killed) return;
        this.finishJob(job, false, undefined, e).catch((e2) => this.fatal(e2));
      },
    ).catch((e) => this.fatal(e));
  }

  private async execute(job: JobRecord): Promise<unknown> {
    const signed = this.vet(job.spec);
    const m = signed.manifest;
    await this.step("job-accepted");
    // Already committed (power cut between commit and the result): just report success.
    if (this.active?.signed.manifest.sha256 === m.sha256) return { model: this.activeModel, alreadyInstalled: true };
    const slots = this.slots;
    const stepFn = (s: InstallStep) => this.step(s);
    let slot = slots.inactiveSlot();
    let verified: VerifiedSlot | null = null;
    const info = slots.boot.slots[slot];
    if (info.sha256 === m.sha256 && (info.state === "good" || info.state === "installed")) {
      try { verified = await slots.verify(slot); } catch (e) { if (e instanceof PowerCutError) throw e; }
    }
    if (!verified) {
      this.setPhase("download");
      await this.step("download");
      const dl = new BlockDownload(this.o.storage, m, job.spec.stream, (blocks) => this.requestBlocks(job.spec.stream, blocks), { ...DEFAULT_DOWNLOAD, ...this.o.download });
      this.download = dl;
      let bytes: Uint8Array;
      try {
        await dl.resume();
        bytes = await dl.run();
      } finally {
        this.download = null;
      }
      await this.step("download-done");
      this.setPhase("verify");
      await this.step("verify");
      this.setPhase("install");
      slot = await slots.write(signed, bytes, stepFn);
      await discardStaging(this.o.storage, m.sha256);
      verified = await slots.verify(slot); // what we test is what is on flash
    }
    this.setPhase("health-check");
    await this.step("health-check");
    let health;
    try {
      health = await this.healthCheck(verified);
    } catch (e) {
      if (!(e instanceof PowerCutError)) {
        this.stats.healthFailures++;
        await slots.markBad(slot);
      }
      throw e;
    }
    this.setPhase("commit");
    await slots.commit(slot, stepFn);
    this.swapActive({ slot, signed: verified.signed, model: health.model });
    this.stats.installs++;
    return { model: this.activeModel, health: { latencyMs: health.latencyMs, arenaBytes: health.arenaBytes, kernels: health.model.kernels } };
  }

  private async finishJob(job: JobRecord, ok: boolean, result?: unknown, error?: unknown): Promise<void> {
    if (this.killed) return;
    if (!ok && error) {
      this.jobError = errorInfo(error);
      this.log(`install of ${job.sha256.slice(0, 12)} failed: ${this.jobError.type}: ${this.jobError.message}`);
    }
    this.jobPhase = ok ? "done" : "failed";
    await this.step("job-done");
    for (const w of job.waiters) this.reply(w, "deploy", "result", ok, ok ? { result } : { error });
    if (job.desiredVersion && job.desiredVersion > this.desiredVersion) {
      this.desiredVersion = job.desiredVersion;
      await this.saveAgentFile();
    }
    await removeDurable(this.o.storage, JOB_FILE);
    this.job = null;
    this.jobPhase = "idle";
    this.publishBirth();
    this.publishReported();
    if (this.pendingDesired !== null || this.pendingDesiredVersion > this.desiredVersion) {
      const spec = this.pendingDesired;
      const v = this.pendingDesiredVersion;
      this.pendingDesired = null;
      this.pendingDesiredVersion = 0;
      if (v > this.desiredVersion) {
        this.desiredVersion = v;
        await this.saveAgentFile();
        if (spec) this.applyDeployment(spec, v);
      }
    }
  }

  private requestBlocks(stream: string, blocks: number[]): void {
    this.publish(topics.streamGet(this.id, stream), JSON.stringify({ stream, blocks }), { qos: 1 });
  }

  /**
   * Loads the model with the board's kernel build and memory cap, runs the self-test input a
   * few times, and checks: it loads, outputs match the manifest's digest if given, the arena
   * fits the board's budget, the median latency is under the board's budget.
   */
  private async healthCheck(v: VerifiedSlot): Promise<{ model: RunnableModel; latencyMs: number; arenaBytes: number }> {
    const b = this.o.board;
    const m: Manifest = v.signed.manifest;
    let model: RunnableModel;
    try {
      model = await this.o.runtime.load(v.bytes, { kernels: b.kernels, maxMemoryBytes: b.maxMemoryBytes });
    } catch (e) {
      throw new HealthCheckError(`${m.modelId}@${m.version} does not load: ${errorInfo(e).type}: ${errorInfo(e).message}`);
    }
    try {
      if (model.memory.arenaBytes > b.arenaBudgetBytes) {
        throw new HealthCheckError(`${m.modelId}@${m.version}: arena ${model.memory.arenaBytes} bytes exceeds the ${b.name} budget of ${b.arenaBudgetBytes}`);
      }
      const inputs = selfTestInputs(model, m.selfTest?.inputSeed ?? 1);
      const times: number[] = [];
      let digest = "";
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const out = await model.run(inputs);
        times.push(performance.now() - t0);
        const d = outputsDigest(out);
        if (digest && d !== digest) throw new HealthCheckError(`${m.modelId}@${m.version}: self-test output differs between runs`);
        digest = d;
      }
      if (m.selfTest?.outputSha256 && digest !== m.selfTest.outputSha256) {
        throw new HealthCheckError(`${m.modelId}@${m.version}: self-test output digest ${digest.slice(0, 12)} != manifest ${m.selfTest.outputSha256.slice(0, 12)}`);
      }
      const latencyMs = times.sort((x, y) => x - y)[1];
      if (latencyMs > b.latencyBudgetMs) {
        throw new HealthCheckError(`${m.modelId}@${m.version}: self-test latency ${latencyMs.toFixed(1)} ms exceeds the ${b.name} budget of ${b.latencyBudgetMs} ms`);
      }
      return { model, latencyMs, arenaBytes: model.memory.arenaBytes };
    } catch (e) {
      model.dispose();
      if (e instanceof QedgeError) throw e instanceof HealthCheckError ? e : new HealthCheckError(`${m.modelId}@${m.version}: self-test failed: ${e.name}: ${e.message}`);
      throw new HealthCheckError(`${m.modelId}@${m.version}: self-test failed: ${(e as Error).message}`);
    }
  }
}
