// Replay and expiry checks for incoming commands. Request ids seen within the window are
// kept durably, so a command replayed after a reboot is still refused. "Older" is judged on
// the controller's clock (the newest command timestamp seen), which device clock skew does
// not affect.
//
// Expiry needs "now" on the controller's clock. The device estimates the offset between its
// clock and the controller's as the smallest (arrival time - command timestamp) over recent
// commands: a command delivered late (queued while offline, replayed) can only make that
// difference larger, so it never moves the estimate. Until a first estimate exists, the
// device clock is used with a generous skew tolerance.
import { ExpiredError, ReplayError } from "../fleet/errors.js";
import type { CommandMessage } from "../fleet/protocol.js";
import { readJson, writeDurableJson, type Storage } from "./storage.js";

export interface ReplayOptions {
  /** How long seen ids are remembered; older commands are refused outright. */
  windowMs: number;
  /** Tolerated difference between device and controller clocks when nothing better is known. */
  maxSkewMs: number;
  /** Tolerated delivery jitter once the clock offset is estimated. */
  jitterMs: number;
}

export const DEFAULT_REPLAY: ReplayOptions = { windowMs: 6 * 3600_000, maxSkewMs: 5 * 60_000, jitterMs: 1000 };

/** Offsets from this many recent commands form the estimate (a clock step heals after as many). */
const OFFSET_SAMPLES = 16;

interface ReplayFile {
  highTs: number;
  seen: Record<string, number>;
  offsets?: number[];
}

const FILE = "replay.json";

export class ReplayGuard {
  private state: ReplayFile = { highTs: 0, seen: {}, offsets: [] };
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly storage: Storage, private readonly opts: ReplayOptions = DEFAULT_REPLAY) {}

  async load(): Promise<void> {
    const f = await readJson<ReplayFile>(this.storage, FILE);
    if (f && typeof f.highTs === "number" && f.seen && typeof f.seen === "object") {
      this.state = { ...f, offsets: Array.isArray(f.offsets) ? f.offsets.filter((x) => typeof x === "number").slice(-OFFSET_SAMPLES) : [] };
    }
  }

  /** Estimated device-minus-controller clock offset, or null before any command. */
  get clockOffsetMs(): number | null {
    const o = this.state.offsets ?? [];
    return o.length ? Math.min(...o) : null;
  }

  /** Throws ExpiredError / ReplayError; otherwise records the id durably before returning. */
  async admit(cmd: CommandMessage, deviceNow: number): Promise<void> {
    const { windowMs, maxSkewMs, jitterMs } = this.opts;
    if (cmd.ts > deviceNow + maxSkewMs) {
      throw new ExpiredError(`command ${cmd.id} is stamped ${cmd.ts - deviceNow} ms in the future (clock skew beyond ${maxSkewMs} ms)`);
    }
    const offsets = (this.state.offsets ??= []);
    offsets.push(deviceNow - cmd.ts);
    if (offsets.length > OFFSET_SAMPLES) offsets.splice(0, offsets.length - OFFSET_SAMPLES);
    const expiresAt = cmd.ts + cmd.ttl;
    const controllerNow = deviceNow - Math.min(...offsets);
    if (offsets.length > 1 && expiresAt < controllerNow - jitterMs) {
      throw new ExpiredError(`command ${cmd.id} expired ${controllerNow - expiresAt} ms ago`);
    }
    if (expiresAt < deviceNow - maxSkewMs) {
      throw new ExpiredError(`command ${cmd.id} expired ${deviceNow - expiresAt} ms ago (device clock)`);
    }
    if (expiresAt < this.state.highTs) {
      throw new ExpiredError(`command ${cmd.id} expired before a newer command (issued ${this.state.highTs - cmd.ts} ms later) arrived`);
    }
    if (Object.prototype.hasOwnProperty.call(this.state.seen, cmd.id)) throw new ReplayError(`request id ${cmd.id} was already seen`);
    if (cmd.ts < this.state.highTs - windowMs) throw new ReplayError(`command ${cmd.id} is older than the replay window`);
    this.state.seen[cmd.id] = cmd.ts;
    if (cmd.ts > this.state.highTs) this.state.highTs = cmd.ts;
    const floor = this.state.highTs - windowMs;
    for (const [id, ts] of Object.entries(this.state.seen)) if (ts < floor) delete this.state.seen[id];
    // Saves are serialised; each one writes the latest state.
    const snapshot = JSON.parse(JSON.stringify(this.state)) as ReplayFile;
    this.saving = this.saving.catch(() => {}).then(() => writeDurableJson(this.storage, FILE, snapshot));
    await this.saving;
  }
}
