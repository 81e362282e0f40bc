// Many simulated boards in one process. Each board runs the real DeviceAgent on its own
// simulated flash, with its board profile (arch label, kernel build, memory cap, budgets),
// its own skewed clock, and the faults of the spec: link drops and delays, power cuts at
// install steps (optionally mid-write, tearing files), broker restarts.
import { deviceFinetune } from "../host/device/finetune.js";
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { DeviceAgent, type AgentStep, type DeviceAgentOptions } from "../host/device/agent.js";
import type { BoardProfile } from "../host/device/board.js";
import type { ModelRuntime } from "../host/device/runtime.js";
import { PowerCutError } from "../host/fleet/errors.js";
import { boardFor } from "./boards.js";
import { hashSeed, NO_FAULTS, rng32, type FaultSpec } from "./faults.js";
import { SimFlash } from "./flash.js";

export interface SimOptions {
  broker: string;
  devices: number;
  /** "mixed" (default), one board name, or a comma list used in rotation. */
  boards?: string;
  idPrefix?: string;
  /** First device number (ids are prefix + zero-padded number). */
  firstIndex?: number;
  trustedKeys: KeyObject[];
  runtime: ModelRuntime;
  /** Credentials of a device (per-device passwords). */
  credentials?: (id: string) => { username: string; password: string };
  /** Backing directory: one sub-directory of flash per device; omitted = flash in memory. */
  dataDir?: string;
  faults?: FaultSpec;
  protocol?: "auto" | 4 | 5;
  /** Clamp a board's kernel build to what this engine runs (real runtime). */
  kernelClamp?: (b: BoardProfile) => BoardProfile;
  /** Restarts the broker (for the broker-restart fault); only when the simulator owns it. */
  restartBroker?: () => Promise<void>;
  /** Per-board override of the fault spec (e.g. a different power-cut step per board). */
  faultsFor?: (id: string, index: number) => Partial<FaultSpec> | undefined;
  agent?: Partial<DeviceAgentOptions>;
  /** Boards booted at once while starting. */
  startConcurrency?: number;
  log?: (line: string) => void;
}

export class SimBoard {
  readonly flash: SimFlash;
  agent: DeviceAgent | null = null;
  boots = 0;
  powerCuts = 0;
  offline = false;
  private readonly rng: () => number;
  private readonly cutDone = new Set<string>();
  private cutsThisBoard: boolean;
  private readonly skewMs: number;
  private rebootTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  readonly faults: FaultSpec;

  constructor(readonly id: string, readonly profile: BoardProfile, private readonly fleet: SimFleet, index: number, dataDir?: string) {
    this.flash = new SimFlash(dataDir ? join(dataDir, id) : undefined);
    const f = (this.faults = { ...fleet.faults, ...fleet.opts.faultsFor?.(id, index) });
    this.rng = rng32(hashSeed(f.seed, id));
    this.skewMs = f.skew ? Math.round((this.rng() * 2 - 1) * f.skew) : 0;
    this.cutsThisBoard = f.powercut.length > 0 && this.rng() < f.powercutP;
  }

  /** Changes this board's faults from now on (e.g. power cuts only for the second install). */
  setFaults(patch: Partial<FaultSpec>): void {
    Object.assign(this.faults, patch);
    this.cutDone.clear();
    this.cutsThisBoard = this.faults.powercut.length > 0 && this.rng() < this.faults.powercutP;
  }

  get clockSkewMs(): number {
    return this.skewMs;
  }

  /** Boots the agent on the current flash. */
  async boot(): Promise<void> {
    if (this.stopped || this.offline) return;
    this.boots++;
    const o = this.fleet.opts;
    const creds = o.credentials?.(this.id);
    const agent = new DeviceAgent({
      telemetryIntervalMs: 0,
      // Boards on qedge's runtime answer `finetune` with the fine-tuning API.
      finetune: o.runtime.name === "qedge" ? deviceFinetune : undefined,
      ...o.agent,
      id: this.id,
      broker: o.broker,
      username: creds?.username,
      password: creds?.password,
      storage: this.flash.mount(),
      runtime: o.runtime,
      trustedKeys: o.trustedKeys,
      board: this.profile,
      protocol: o.protocol ?? "auto",
      firmware: `qedge-sim/${this.profile.arch}`,
      clock: this.skewMs ? () => Date.now() + this.skewMs : undefined,
      log: o.log,
      hooks: {
        step: (s) => this.onStep(s),
        beforeMessage: this.faults.delay ? () => new Promise((r) => setTimeout(r, this.rng() * this.faults.delay)) : undefined,
        reboot: () => this.powerCycle(false),
      },
    });
    this.agent = agent;
    try {
      await agent.start();
    } catch (e) {
      if (!(e instanceof PowerCutError)) throw e;
    }
  }

  private onStep(step: AgentStep): void {
    if (!this.cutsThisBoard) return;
    for (const c of this.faults.powercut) {
      const key = `${c.step}+${c.afterOps}`;
      if (c.step !== step || this.cutDone.has(key)) continue;
      this.cutDone.add(key);
      if (c.afterOps === 0) {
        this.fleet.opts.log?.(`[${this.id}] POWER CUT at ${step}`);
        this.powerCycle(true);
        throw new PowerCutError(`power cut at ${step}`);
      }
      this.flash.armCut(c.afterOps, () => {
        this.fleet.opts.log?.(`[${this.id}] POWER CUT ${c.afterOps} flash operation(s) after ${step}`);
        this.powerCycle(true);
      });
    }
  }

  /** Cuts power (abrupt: the broker sees the link die and publishes the Will), then reboots. */
  powerCycle(cut = true): void {
    if (this.stopped) return;
    if (cut) this.powerCuts++;
    this.agent?.kill();
    this.flash.powerLoss(this.rng, cut ? this.faults.torn : 0);
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    this.rebootTimer = setTimeout(() => {
      this.rebootTimer = null;
      this.boot().catch((e) => this.fleet.opts.log?.(`[${this.id}] boot failed: ${(e as Error).stack}`));
    }, this.faults.rebootDelayMs);
  }

  /** Takes the board off the network (powered down, flash intact) until bringOnline(). */
  async takeOffline(): Promise<void> {
    this.offline = true;
    this.agent?.kill();
    this.flash.powerLoss(this.rng, 0);
  }

  async bringOnline(): Promise<void> {
    this.offline = false;
    await this.boot();
  }

  maybeDropLink(): void {
    if (this.faults.drop && this.rng() < this.faults.drop) this.agent?.dropLink();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    await this.agent?.stop();
  }
}

export class SimFleet {
  readonly boards: SimBoard[] = [];
  readonly faults: FaultSpec;
  private timers: NodeJS.Timeout[] = [];

  constructor(readonly opts: SimOptions) {
    this.faults = opts.faults ?? NO_FAULTS;
    const prefix = opts.idPrefix ?? "sim-";
    const first = opts.firstIndex ?? 1;
    const width = Math.max(3, String(first + opts.devices - 1).length);
    for (let i = 0; i < opts.devices; i++) {
      const id = `${prefix}${String(first + i).padStart(width, "0")}`;
      let profile = boardFor(i, opts.boards);
      if (opts.kernelClamp) profile = opts.kernelClamp(profile);
      this.boards.push(new SimBoard(id, profile, this, i, opts.dataDir));
    }
  }

  board(id: string): SimBoard | undefined {
    return this.boards.find((b) => b.id === id);
  }

  async start(): Promise<void> {
    const n = this.opts.startConcurrency ?? 50;
    for (let i = 0; i < this.boards.length; i += n) {
      await Promise.all(this.boards.slice(i, i + n).map((b) => b.boot()));
    }
    if (this.boards.some((b) => b.faults.drop)) {
      const t = setInterval(() => this.boards.forEach((b) => b.maybeDropLink()), this.faults.dropEveryMs);
      t.unref();
      this.timers.push(t);
    }
    if (this.faults.brokerRestartMs && this.opts.restartBroker) {
      const restart = this.opts.restartBroker;
      const t = setInterval(() => { restart().catch((e) => this.opts.log?.(`broker restart failed: ${e}`)); }, this.faults.brokerRestartMs);
      t.unref();
      this.timers.push(t);
    }
  }

  /** Number of boards whose agent is connected. */
  connected(): number {
    return this.boards.filter((b) => b.agent?.isConnected).length;
  }

  async waitConnected(count = this.boards.length, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connected() < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.connected()}/${count} simulated boards connected after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.boards.map((b) => b.stop()));
  }
}
