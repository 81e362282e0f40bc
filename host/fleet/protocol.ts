// The fleet wire protocol: topic names under one versioned root per device, and the JSON
// messages exchanged on them. Everything a device or controller receives goes through the
// parse* functions here, which throw ProtocolError naming the bad field.
//
// Request ids, reply topics and expiry live in the payload so the protocol works on MQTT 3.1.1
// brokers (the embedded aedes); MQTT 5 properties (response topic, correlation data, message
// expiry) are added on top where the connection offers them.
import { ProtocolError } from "./errors.js";

export const TOPIC_ROOT = "qedge/v1";

/** Device ids become topic levels and broker user names: no wildcards, no separators. */
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkDeviceId(id: string, what = "device id"): string {
  if (typeof id !== "string" || !DEVICE_ID_RE.test(id)) {
    throw new ProtocolError(`${what} '${id}' must match ${DEVICE_ID_RE} (letters, digits, '.', '_', '-')`);
  }
  return id;
}

export const topics = {
  root: (id: string) => `${TOPIC_ROOT}/${id}`,
  status: (id: string) => `${TOPIC_ROOT}/${id}/status`,
  desired: (id: string) => `${TOPIC_ROOT}/${id}/state/desired`,
  reported: (id: string) => `${TOPIC_ROOT}/${id}/state/reported`,
  cmd: (id: string, name: string) => `${TOPIC_ROOT}/${id}/cmd/${name}`,
  cmdAll: (id: string) => `${TOPIC_ROOT}/${id}/cmd/+`,
  reply: (id: string, controller: string) => `${TOPIC_ROOT}/${id}/reply/${controller}`,
  telemetry: (id: string, stream: string) => `${TOPIC_ROOT}/${id}/telemetry/${stream}`,
  streamGet: (id: string, stream: string) => `${TOPIC_ROOT}/${id}/stream/${stream}/get`,
  streamData: (id: string, stream: string) => `${TOPIC_ROOT}/${id}/stream/${stream}/data`,
  streamDataAll: (id: string) => `${TOPIC_ROOT}/${id}/stream/+/data`,
};

/** Splits `qedge/v1/<device>/<rest...>`; null for topics outside the root. */
export function parseTopic(topic: string): { device: string; kind: string; rest: string[] } | null {
  const parts = topic.split("/");
  if (parts.length < 4 || parts[0] !== "qedge" || parts[1] !== "v1") return null;
  return { device: parts[2], kind: parts[3], rest: parts.slice(4) };
}

export const COMMANDS = ["deploy", "rollback", "infer", "finetune", "status", "reboot"] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A request to a device, on `cmd/<name>` (QoS 1, never retained). */
export interface CommandMessage {
  /** Request id, unique per attempt; echoed in every reply. */
  id: string;
  /** Issue time, controller clock (ms since epoch). */
  ts: number;
  /** Lifetime in ms from `ts`; the device rejects it as expired after that. */
  ttl: number;
  /** Where replies go: must be under the device's own topic root (brokers confine devices there). */
  replyTo: string;
  args: Record<string, unknown>;
}

export type ReplyPhase = "accepted" | "rejected" | "result";

export interface ReplyMessage {
  id: string;
  device: string;
  cmd: string;
  phase: ReplyPhase;
  ok: boolean;
  result?: unknown;
  error?: { type: string; message: string };
  ts: number;
}

export interface ModelRef {
  id: string;
  version: string;
  sha256: string;
  slot: "a" | "b";
}

export interface StatusMessage {
  state: "ready" | "lost" | "offline";
  /** Boot counter (persisted) and connection counter within the boot: the Will carries the same pair. */
  bootSeq: number;
  conn: number;
  board?: string;
  arch?: string;
  kernels?: string;
  model?: ModelRef | null;
  ts?: number;
}

/** Retained desired state written by controllers; `version` only grows. */
export interface DesiredState {
  version: number;
  deployment: DeploymentSpec | null;
  ts: number;
}

/** What to install: the signed manifest plus where the blocks come from. */
export interface DeploymentSpec {
  signed: SignedManifestWire;
  /** Stream id served by a controller on `stream/<id>/get` → `stream/<id>/data`. */
  stream: string;
  rollout?: string;
}

export interface SignedManifestWire {
  manifest: Record<string, unknown>;
  signature: string;
  keyId?: string;
}

export interface ReportedState {
  version: number;
  desiredVersion: number;
  model: ModelRef | null;
  slots: Record<"a" | "b", { state: string; modelId?: string; version?: string; sha256?: string }>;
  job: { id: string; sha256: string; phase: string; received?: number; total?: number; error?: { type: string; message: string } } | null;
  ts: number;
}

export interface BlockRequest {
  stream: string;
  blocks: number[];
}

export interface BlockHeader {
  stream: string;
  index: number;
  total: number;
  /** SHA-256 of this block's bytes (transport check; the manifest digest is the authority). */
  sha256: string;
}

// ---------------------------------------------------------------- parsing helpers

export function parseJson(payload: Uint8Array | string, what: string): unknown {
  const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`${what}: not JSON (${(e as Error).message})`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function field<T extends "string" | "number" | "object" | "boolean">(
  o: Record<string, unknown>, name: string, type: T, what: string,
): T extends "string" ? string : T extends "number" ? number : T extends "boolean" ? boolean : Record<string, unknown> {
  const v = o[name];
  const ok = type === "object" ? isObject(v) : type === "number" ? typeof v === "number" && Number.isFinite(v) : typeof v === type;
  if (!ok) throw new ProtocolError(`${what}.${name}: expected ${type}, got ${v === null ? "null" : typeof v}`);
  return v as never;
}

export function parseCommand(payload: Uint8Array, what = "command"): CommandMessage {
  const o = parseJson(payload, what);
  if (!isObject(o)) throw new ProtocolError(`${what}: expected a JSON object`);
  const id = field(o, "id", "string", what);
  if (id.length === 0 || id.length > 128) throw new ProtocolError(`${what}.id: length must be 1..128`);
  const ts = field(o, "ts", "number", what);
  const ttl = field(o, "ttl", "number", what);
  if (ttl <= 0) throw new ProtocolError(`${what}.ttl: must be positive`);
  const replyTo = field(o, "replyTo", "string", what);
  const args = o.args === undefined ? {} : field(o, "args", "object", what);
  return { id, ts, ttl, replyTo, args };
}

export function parseReply(payload: Uint8Array): ReplyMessage {
  const o = parseJson(payload, "reply");
  if (!isObject(o)) throw new ProtocolError("reply: expected a JSON object");
  const phase = field(o, "phase", "string", "reply");
  if (phase !== "accepted" && phase !== "rejected" && phase !== "result") throw new ProtocolError(`reply.phase: '${phase}'`);
  return {
    id: field(o, "id", "string", "reply"),
    device: field(o, "device", "string", "reply"),
    cmd: field(o, "cmd", "string", "reply"),
    phase,
    ok: field(o, "ok", "boolean", "reply"),
    result: o.result,
    error: isObject(o.error) ? { type: String(o.error.type), message: String(o.error.message) } : undefined,
    ts: typeof o.ts === "number" ? o.ts : 0,
  };
}

export function parseStatus(payload: Uint8Array): StatusMessage {
  const o = parseJson(payload, "status");
  if (!isObject(o)) throw new ProtocolError("status: expected a JSON object");
  const state = field(o, "state", "string", "status");
  if (state !== "ready" && state !== "lost" && state !== "offline") throw new ProtocolError(`status.state: '${state}'`);
  return {
    ...(o as object),
    state,
    bootSeq: field(o, "bootSeq", "number", "status"),
    conn: typeof o.conn === "number" ? o.conn : 0,
  } as StatusMessage;
}

export function parseDeployment(v: unknown, what: string): DeploymentSpec {
  if (!isObject(v)) throw new ProtocolError(`${what}: expected an object`);
  const signed = field(v, "signed", "object", what);
  const stream = field(v, "stream", "string", what);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(stream)) throw new ProtocolError(`${what}.stream: '${stream}' is not a valid stream id`);
  const manifest = field(signed, "manifest", "object", `${what}.signed`);
  const signature = field(signed, "signature", "string", `${what}.signed`);
  const keyId = typeof signed.keyId === "string" ? signed.keyId : undefined;
  const rollout = typeof v.rollout === "string" ? v.rollout : undefined;
  return { signed: { manifest, signature, keyId }, stream, rollout };
}

export function parseDesired(payload: Uint8Array): DesiredState {
  const o = parseJson(payload, "desired state");
  if (!isObject(o)) throw new ProtocolError("desired state: expected a JSON object");
  const version = field(o, "version", "number", "desired");
  const deployment = o.deployment === null || o.deployment === undefined ? null : parseDeployment(o.deployment, "desired.deployment");
  return { version, deployment, ts: typeof o.ts === "number" ? o.ts : 0 };
}

export function parseBlockRequest(payload: Uint8Array): BlockRequest {
  const o = parseJson(payload, "block request");
  if (!isObject(o)) throw new ProtocolError("block request: expected a JSON object");
  const stream = field(o, "stream", "string", "block request");
  const blocks = o.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > 256 || !blocks.every((b) => Number.isInteger(b) && b >= 0)) {
    throw new ProtocolError("block request.blocks: expected 1..256 non-negative integers");
  }
  return { stream, blocks: blocks as number[] };
}

/** Block payload: u32 big-endian header length, header JSON, then the block bytes. */
export function encodeBlock(header: BlockHeader, data: Uint8Array): Buffer {
  const h = Buffer.from(JSON.stringify(header), "utf8");
  const out = Buffer.allocUnsafe(4 + h.length + data.length);
  out.writeUInt32BE(h.length, 0);
  h.copy(out, 4);
  out.set(data, 4 + h.length);
  return out;
}

export function decodeBlock(payload: Uint8Array): { header: BlockHeader; data: Uint8Array } {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 4) throw new ProtocolError("block: shorter than its length prefix");
  const hlen = buf.readUInt32BE(0);
  if (hlen > 4096 || 4 + hlen > buf.length) throw new ProtocolError(`block: header length ${hlen} out of range`);
  const o = parseJson(buf.subarray(4, 4 + hlen), "block header");
  if (!isObject(o)) throw new ProtocolError("block header: expected a JSON object");
  const header: BlockHeader = {
    stream: field(o, "stream", "string", "block header"),
    index: field(o, "index", "number", "block header"),
    total: field(o, "total", "number", "block header"),
    sha256: field(o, "sha256", "string", "block header"),
  };
  if (!Number.isInteger(header.index) || header.index < 0) throw new ProtocolError("block header.index: not a non-negative integer");
  return { header, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + hlen, buf.length - 4 - hlen) };
}
