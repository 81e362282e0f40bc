// Broker identities and topic ACLs, shared by the embedded broker and the Mosquitto config
// generator. Two roles: a device may publish and subscribe only under its own root
// qedge/v1/<username>/ (and must use its user name as client id, so it cannot take over
// another device's session); a controller may use all of qedge/v1/ (and $share/ groups).
//
// Device passwords are either stored (scrypt) or derived from a fleet secret as
// HMAC-SHA256(secret, device id), so a thousand devices need no thousand-line user file.
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../errors.js";
import { DEVICE_ID_RE, TOPIC_ROOT } from "../fleet/protocol.js";

export type Role = "device" | "controller";

export interface UserRecord {
  role: Role;
  /** base64 scrypt salt and hash */
  salt: string;
  hash: string;
}

export interface BrokerAuthConfig {
  users?: Record<string, UserRecord>;
  /** Devices whose password is HMAC-SHA256(deviceSecret, id) (base64url) are accepted as that device. */
  deviceSecret?: string;
}

export interface Identity {
  username: string;
  role: Role;
}

const SCRYPT = { N: 16384, r: 8, p: 1 };

export function hashPassword(password: string, role: Role): UserRecord {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return { role, salt: salt.toString("base64"), hash: hash.toString("base64") };
}

export function derivedDevicePassword(deviceSecret: string, deviceId: string): string {
  return createHmac("sha256", deviceSecret).update(`qedge-device:${deviceId}`).digest("base64url");
}

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

export function loadAuthFile(path: string): BrokerAuthConfig {
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new InvalidArgumentError(`${path}: not a readable JSON users file (${(e as Error).message})`);
  }
  const cfg = o as BrokerAuthConfig;
  if (typeof cfg !== "object" || cfg === null) throw new InvalidArgumentError(`${path}: expected an object`);
  for (const [name, u] of Object.entries(cfg.users ?? {})) {
    if ((u.role !== "device" && u.role !== "controller") || typeof u.salt !== "string" || typeof u.hash !== "string") {
      throw new InvalidArgumentError(`${path}: users.${name}: expected {role, salt, hash}`);
    }
  }
  return cfg;
}

/** Verifies credentials; remembers successes so reconnect storms do not re-run scrypt. */
export class Authenticator {
  private okCache = new Map<string, Role>();

  constructor(private readonly cfg: BrokerAuthConfig) {}

  check(username: string | undefined, password: Buffer | string | undefined): Identity | null {
    if (!username || password === undefined) return null;
    const pw = Buffer.isBuffer(password) ? password.toString("utf8") : password;
    const key = createHash("sha256").update(username).update("\0").update(pw).digest("base64");
    const cached = this.okCache.get(key);
    if (cached) return { username, role: cached };
    let role: Role | null = null;
    const u = this.cfg.users?.[username];
    if (u) {
      const want = Buffer.from(u.hash, "base64");
      const got = scryptSync(pw, Buffer.from(u.salt, "base64"), want.length, SCRYPT);
      if (want.length === got.length && timingSafeEqual(want, got)) role = u.role;
    } else if (this.cfg.deviceSecret && DEVICE_ID_RE.test(username)) {
      const want = Buffer.from(derivedDevicePassword(this.cfg.deviceSecret, username));
      const got = Buffer.from(pw);
      if (want.length === got.length && timingSafeEqual(want, got)) role = "device";
    }
    if (!role) return null;
    this.okCache.set(key, role);
    return { username, role };
  }
}

const ROOT = `${TOPIC_ROOT}/`;

/** May this identity publish to `topic`? */
export function canPublish(who: Identity, topic: string): boolean {
  if (topic.includes("+") || topic.includes("#")) return false;
  if (who.role === "controller") return topic.startsWith(ROOT);
  return topic.startsWith(`${ROOT}${who.username}/`);
}

/** May this identity subscribe to `filter`? Devices: only filters inside their own root. */
export function canSubscribe(who: Identity, filter: string): boolean {
  if (who.role === "controller") {
    const f = filter.startsWith("$share/") ? filter.split("/").slice(2).join("/") : filter;
    return f.startsWith(ROOT) || f === TOPIC_ROOT + "/#";
  }
  return filter.startsWith(`${ROOT}${who.username}/`);
}
