// Controller side of the fleet protocol: tracks devices from their retained status and
// reported state, sends commands with timeouts and retries, writes desired state, and serves
// artifact blocks on request. One connection, clean session (controllers keep their durable
// state on disk, not in the broker).
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from "mqtt";
import { errorInfo, FleetTimeoutError, ProtocolError } from "./errors.js";
import { sha256Hex } from "./manifest.js";
import {
  encodeBlock, parseBlockRequest, parseDesired, parseJson, parseReply, parseStatus, parseTopic, topics, TOPIC_ROOT,
  type CommandName, type DeploymentSpec, type DesiredState, type ReplyMessage, type ReportedState, type StatusMessage,
} from "./protocol.js";

export interface ControllerOptions {
  broker: string;
  username?: string;
  password?: string;
  /** Names this controller's reply topics; default a random id. */
  id?: string;
  protocol?: "auto" | 4 | 5;
  /** Serve block requests through an MQTT 5 shared subscription group (several controllers, one copy each). */
  shareGroup?: string;
  log?: (line: string) => void;
  /** Test hook: alter a block on its way out (transport corruption). */
  transformBlock?: (device: string, index: number, data: Uint8Array) => Uint8Array;
}

export interface DeviceView {
  id: string;
  status: StatusMessage | null;
  reported: ReportedState | null;
  desiredVersion: number;
  online: boolean;
  /** Births seen by this controller (each reconnect of the device is one). */
  births: number;
  onlineSince: number;
  telemetry: Record<string, unknown> | null;
}

export interface RequestOptions {
  /** Command lifetime (payload ttl and MQTT 5 message expiry). */
  ttlMs?: number;
  /** Wait this long for `accepted`/`rejected` while the device is online before sending again. */
  ackTimeoutMs?: number;
  /** Overall deadline for the final result. */
  resultTimeoutMs?: number;
  /** Extra attempts after an unanswered one. */
  retries?: number;
  /** Base of the request ids (attempts get .1, .2, ...). */
  id?: string;
  /** A result may also be read off the device's reported state (a result reply lost for good). */
  doneWhen?: (view: DeviceView) => ReplyMessage | null;
  /** Give up early when the device has not been online at all for this long since the request began. */
  offlineTimeoutMs?: number;
  onAccepted?: () => void;
}

export const REQUEST_DEFAULTS = { ttlMs: 600_000, ackTimeoutMs: 10_000, resultTimeoutMs: 120_000, retries: 4 };

interface Served {
  bytes: Uint8Array;
  blockSize: number;
  total: number;
  hashes: (string | undefined)[];
}

function randomId(): string {
  return randomBytes(6).toString("hex");
}

/** (bootSeq, conn) ordering: a status only counts if it is not older than the last one. */
function statusKey(s: StatusMessage): number {
  return s.bootSeq * 1_000_000 + (s.conn ?? 0);
}

export class FleetController extends EventEmitter {
  readonly id: string;
  private readonly o: ControllerOptions;
  private client: MqttClient | null = null;
  private protocolVersion: 4 | 5 = 5;
  private readonly devs = new Map<string, DeviceView>();
  private readonly pending = new Map<string, (r: ReplyMessage) => void>();
  private readonly served = new Map<string, Served>();
  private connected = false;
  readonly stats = { commandsSent: 0, replies: 0, blocksServed: 0, blockBytes: 0, messagesIn: 0, messagesOut: 0, reconnects: 0 };

  constructor(opts: ControllerOptions) {
    super();
    this.setMaxListeners(0);
    this.o = opts;
    this.id = opts.id ?? `ctl-${randomId()}`;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(this.id)) throw new ProtocolError(`controller id '${this.id}' must be letters, digits, '.', '_', '-'`);
    this.protocolVersion = opts.protocol === 4 ? 4 : 5;
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  get mqttVersion(): 4 | 5 {
    return this.protocolVersion;
  }

  /** Connects and subscribes; resolves on the first CONNACK. */
  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const open = (v: 4 | 5) => {
        const opts: IClientOptions = {
          clientId: `qedge-${this.id}-${randomId()}`,
          username: this.o.username,
          password: this.o.password,
          clean: true,
          protocolVersion: v,
          keepalive: 30,
          reconnectPeriod: 1000,
          connectTimeout: 10_000,
          resubscribe: false,
        };
        const client = mqtt.connect(this.o.broker, opts);
        this.client = client;
        client.on("connect", () => {
          if (this.client !== client) return;
          if (this.connected || settled) this.stats.reconnects++;
          this.connected = true;
          this.subscribeAll().then(() => {
            this.emit("connected");
            if (!settled) { settled = true; resolve(); }
          }, (e) => { if (!settled) { settled = true; reject(e); } });
        });
        client.on("close", () => { if (this.client === client) this.connected = false; });
        client.on("message", (topic, payload) => {
          if (this.client !== client) return;
          this.stats.messagesIn++;
          try {
            this.onMessage(topic, payload);
          } catch (e) {
            this.log(`controller: dropped message on ${topic}: ${errorInfo(e).type}: ${errorInfo(e).message}`);
          }
        });
        client.on("error", (e: Error & { code?: number }) => {
          if (this.client !== client) return;
          if (this.o.protocol !== 5 && this.o.protocol !== 4 && v === 5 && (e.code === 1 || e.code === 132)) {
            this.protocolVersion = 4;
            this.client = null;
            client.end(true);
            open(4);
            return;
          }
          this.log(`controller: mqtt error: ${e.message}`);
          if (!settled && (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135)) {
            settled = true;
            client.end(true);
            reject(new ProtocolError(`broker refused the controller: ${e.message}`));
          }
        });
      };
      open(this.protocolVersion);
    });
  }

  private subscribeAll(): Promise<void> {
    const share = this.o.shareGroup && this.protocolVersion === 5 ? `$share/${this.o.shareGroup}/` : "";
    const subs: Record<string, { qos: 0 | 1 }> = {
      [`${TOPIC_ROOT}/+/status`]: { qos: 1 },
      [`${TOPIC_ROOT}/+/state/reported`]: { qos: 1 },
      [`${TOPIC_ROOT}/+/state/desired`]: { qos: 1 },
      [`${TOPIC_ROOT}/+/reply/${this.id}`]: { qos: 1 },
      [`${share}${TOPIC_ROOT}/+/stream/+/get`]: { qos: 1 },
      [`${TOPIC_ROOT}/+/telemetry/+`]: { qos: 0 },
    };
    return new Promise((resolve, reject) => {
      const names = Object.keys(subs);
      this.client!.subscribe(subs, (err, _subs, packet) => {
        const codes = (packet as { granted?: number[] } | undefined)?.granted ?? [];
        const refused = names.filter((_, i) => (codes[i] ?? 0) >= 0x80);
        if (refused.length) return reject(new ProtocolError(`broker refused subscriptions: ${refused.join(", ")} (is this user a controller?)`));
        if (err) return reject(err);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.connected = false;
    if (c) await new Promise<void>((r) => c.end(false, {}, () => r()));
  }

  private publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions): void {
    if (!this.client) return;
    if (this.protocolVersion !== 5) delete opts.properties;
    this.stats.messagesOut++;
    this.client.publish(topic, payload, opts, (err) => { if (err) this.log(`controller: publish to ${topic} failed: ${err.message}`); });
  }

  // ------------------------------------------------------------------ device tracking

  private view(id: string): DeviceView {
    let v = this.devs.get(id);
    if (!v) {
      v = { id, status: null, reported: null, desiredVersion: 0, online: false, births: 0, onlineSince: 0, telemetry: null };
      this.devs.set(id, v);
    }
    return v;
  }

  devices(): DeviceView[] {
    return [...this.devs.values()].filter((d) => d.status !== null).sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  }

  device(id: string): DeviceView | undefined {
    return this.devs.get(id);
  }

  isOnline(id: string): boolean {
    return this.devs.get(id)?.online ?? false;
  }

  /** Waits until retained statuses stop arriving (quietMs without a new device) or maxMs. */
  async discover(quietMs = 400, maxMs = 5000): Promise<DeviceView[]> {
    const start = Date.now();
    let last = Date.now();
    let n = this.devices().length;
    while (Date.now() - start < maxMs) {
      await new Promise((r) => setTimeout(r, 50));
      const m = this.devices().length;
      if (m !== n) { n = m; last = Date.now(); }
      if (Date.now() - last >= quietMs) break;
    }
    return this.devices();
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t) return;
    const id = t.device;
    if (t.kind === "status") {
      if (payload.length === 0) { this.devs.delete(id); return; }
      const s = parseStatus(payload);
      const v = this.view(id);
      if (v.status && statusKey(s) < statusKey(v.status)) return; // a late Will from an older connection
      const wasOnline = v.online;
      v.status = s.state === "ready" ? s : { ...v.status, ...s, model: s.model ?? v.status?.model };
      v.online = s.state === "ready";
      if (v.online) {
        v.births++;
        v.onlineSince = Date.now();
      }
      this.emit("status", v, wasOnline);
    } else if (t.kind === "state" && t.rest[0] === "reported") {
      if (payload.length === 0) return;
      const r = parseJson(payload, "reported") as ReportedState;
      const v = this.view(id);
      if (typeof r?.version !== "number") return;
      if (v.reported && r.version < v.reported.version) return;
      v.reported = r;
      this.emit("reported", v);
    } else if (t.kind === "state" && t.rest[0] === "desired") {
      if (payload.length === 0) return;
      const d = parseDesired(payload);
      const v = this.view(id);
      v.desiredVersion = Math.max(v.desiredVersion, d.version);
    } else if (t.kind === "reply") {
      if (t.rest[0] !== this.id) return;
      const r = parseReply(payload);
      if (r.device !== id) return; // a reply must come from the device whose root it is on
      this.stats.replies++;
      this.pending.get(r.id)?.(r);
    } else if (t.kind === "stream" && t.rest[1] === "get") {
      this.serveBlocks(id, t.rest[0], payload);
    } else if (t.kind === "telemetry") {
      const v = this.devs.get(id);
      if (v) v.telemetry = parseJson(payload, "telemetry") as Record<string, unknown>;
    }
  }

  // ------------------------------------------------------------------ artifact streams

  /** Makes an artifact available as stream `streamId` in blocks of `blockSize`. */
  serve(streamId: string, bytes: Uint8Array, blockSize: number): void {
    const total = Math.ceil(bytes.length / blockSize);
    this.served.set(streamId, { bytes, blockSize, total, hashes: new Array(total) });
  }

  private serveBlocks(device: string, streamId: string, payload: Buffer): void {
    const s = this.served.get(streamId);
    if (!s) return;
    const req = parseBlockRequest(payload);
    if (req.stream !== streamId) throw new ProtocolError(`block request names stream ${req.stream} on topic of ${streamId}`);
    for (const i of req.blocks) {
      if (i >= s.total) continue;
      let data = s.bytes.subarray(i * s.blockSize, Math.min(s.bytes.length, (i + 1) * s.blockSize));
      const hash = (s.hashes[i] ??= sha256Hex(data));
      if (this.o.transformBlock) data = this.o.transformBlock(device, i, data);
      this.stats.blocksServed++;
      this.stats.blockBytes += data.length;
      this.publish(topics.streamData(device, streamId), encodeBlock({ stream: streamId, index: i, total: s.total, sha256: hash }, data), { qos: 0 });
    }
  }

  // ------------------------------------------------------------------ desired state

  /** Publishes a new desired state (retained); versions grow across controller and broker restarts. */
  setDesired(device: string, deployment: DeploymentSpec | null): number {
    const v = this.view(device);
    const version = Math.max(v.desiredVersion + 1, Date.now());
    v.desiredVersion = version;
    const msg: DesiredState = { version, deployment, ts: Date.now() };
    this.publish(topics.desired(device), JSON.stringify(msg), { qos: 1, retain: true });
    return version;
  }

  // ------------------------------------------------------------------ requests

  /**
   * Sends a command and resolves with its final reply: a `result` (ok or not) or a
   * `rejected`. Unanswered attempts are re-sent with a fresh id (the device dedupes by
   * meaning, not id); a device that comes back online gets the command again. Throws
   * FleetTimeoutError when nothing final arrives before the deadline.
   */
  async request(device: string, cmd: CommandName, args: Record<string, unknown>, opts: RequestOptions = {}): Promise<ReplyMessage> {
    const o = { ...REQUEST_DEFAULTS, ...opts };
    const base = o.id ?? `${cmd}-${randomId()}`;
    const started = Date.now();
    const deadline = started + o.resultTimeoutMs;
    let seenOnline = false;
    const inbox: ReplyMessage[] = [];
    let wake: (() => void) | null = null;
    const poke = () => { const w = wake; wake = null; w?.(); };
    const ids: string[] = [];
    const onReply = (r: ReplyMessage) => { inbox.push(r); poke(); };
    const onStatus = (v: DeviceView) => { if (v.id === device) poke(); };
    const onReported = (v: DeviceView) => { if (v.id === device) poke(); };
    this.on("status", onStatus);
    this.on("reported", onReported);
    let attempts = 0;
    let unansweredAttempts = 0;
    const maxAttempts = o.retries + 1 + 20; // re-sends after reconnects are bounded too
    let sentAt = 0;
    let birthsAtSend = 0;
    let accepted = false;
    const send = () => {
      attempts++;
      const id = `${base}.${attempts}`;
      ids.push(id);
      this.pending.set(id, onReply);
      const replyTo = topics.reply(device, this.id);
      const ts = Date.now();
      this.stats.commandsSent++;
      this.publish(topics.cmd(device, cmd), JSON.stringify({ id, ts, ttl: o.ttlMs, replyTo, args }), {
        qos: 1,
        properties: { messageExpiryInterval: Math.max(1, Math.ceil(o.ttlMs / 1000)), responseTopic: replyTo, correlationData: Buffer.from(id) },
      });
      sentAt = ts;
      birthsAtSend = this.devs.get(device)?.births ?? 0;
    };
    try {
      send();
      for (;;) {
        while (inbox.length) {
          const r = inbox.shift()!;
          if (r.phase === "accepted") { if (!accepted) { accepted = true; o.onAccepted?.(); } continue; }
          if (r.phase === "result") return r;
          if (r.error?.type === "ReplayError") continue; // a duplicate delivery of one of our attempts
          if (r.error?.type === "ExpiredError" && attempts < maxAttempts && unansweredAttempts < o.retries) {
            unansweredAttempts++;
            send();
            continue;
          }
          return r;
        }
        const v = this.devs.get(device);
        if (v && o.doneWhen) {
          const r = o.doneWhen(v);
          if (r) return r;
        }
        const now = Date.now();
        if (v?.online) seenOnline = true;
        if (!seenOnline && o.offlineTimeoutMs !== undefined && now >= started + o.offlineTimeoutMs) {
          throw new FleetTimeoutError(`${cmd} to ${device}: device stayed offline for ${o.offlineTimeoutMs} ms`);
        }
        if (now >= deadline) {
          throw new FleetTimeoutError(`${cmd} to ${device}: no ${accepted ? "result" : "answer"} within ${o.resultTimeoutMs} ms after ${attempts} attempt(s)`);
        }
        let next = !seenOnline && o.offlineTimeoutMs !== undefined ? Math.min(deadline, started + o.offlineTimeoutMs) : deadline;
        if (v?.online) {
          if ((v.births > birthsAtSend) && attempts < maxAttempts) {
            // The device reconnected since we sent: whatever was in flight may be gone.
            send();
            continue;
          }
          if (!accepted) {
            const ackDue = Math.max(sentAt, v.onlineSince) + o.ackTimeoutMs;
            if (now >= ackDue) {
              if (unansweredAttempts >= o.retries) {
                throw new FleetTimeoutError(`${cmd} to ${device}: not acknowledged after ${attempts} attempt(s)`);
              }
              unansweredAttempts++;
              send();
              continue;
            }
            next = Math.min(next, ackDue);
          }
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => { wake = null; resolve(); }, Math.max(1, next - now));
          wake = () => { clearTimeout(t); resolve(); };
        });
      }
    } finally {
      for (const id of ids) this.pending.delete(id);
      this.off("status", onStatus);
      this.off("reported", onReported);
    }
  }
}
