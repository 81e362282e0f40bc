// Replay and expiry checks for incoming commands. Request ids seen within the window are
// kept durably, so a command replayed after a reboot is still refused. "Older" is judged on
// the controller's clock (the newest command timestamp seen), which device clock skew does
// not affect; the device clock only enters through the expiry check, with a tolerance.
import { ExpiredError, ReplayError } from "../fleet/errors.js";
import type { CommandMessage } from "../fleet/protocol.js";
import { readJson, writeDurableJson, type Storage } from "./storage.js";

export interface ReplayOptions {
  /** How long seen ids are remembered; older commands are refused outright. */
  windowMs: number;
  /** Tolerated difference between device and controller clocks. */
  maxSkewMs: number;
}

export const DEFAULT_REPLAY: ReplayOptions = { windowMs: 6 * 3600_000, maxSkewMs: 5 * 60_000 };

interface ReplayFile {
  highTs: number;
  seen: Record<string, number>;
}

const FILE = "replay.json";

export class ReplayGuard {
  private state: ReplayFile = { highTs: 0, seen: {} };
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly storage: Storage, private readonly opts: ReplayOptions = DEFAULT_REPLAY) {}

  async load(): Promise<void> {
    const f = await readJson<ReplayFile>(this.storage, FILE);
    if (f && typeof f.highTs === "number" && f.seen && typeof f.seen === "object") this.state = f;
  }

  /** Throws ExpiredError / ReplayError; otherwise records the id durably before returning. */
  async admit(cmd: CommandMessage, deviceNow: number): Promise<void> {
    const { windowMs, maxSkewMs } = this.opts;
    if (cmd.ts > deviceNow + maxSkewMs) {
      throw new ExpiredError(`command ${cmd.id} is stamped ${cmd.ts - deviceNow} ms in the future (clock skew beyond ${maxSkewMs} ms)`);
    }
    if (cmd.ts + cmd.ttl < deviceNow - maxSkewMs) {
      throw new ExpiredError(`command ${cmd.id} expired ${deviceNow - cmd.ts - cmd.ttl} ms ago`);
    }
    if (cmd.ts + cmd.ttl < this.state.highTs) {
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
