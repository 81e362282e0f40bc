// Fault injection spec for simulated boards, e.g.
//   "seed=7,drop=0.05,delay=200,powercut=slot-write-model|commit,torn=0.5,skew=30000,broker-restart=5000"
// Every random choice comes from a seeded generator per device, so a spec plus a seed
// replays the same faults.
import { mulberry32 } from "../host/util/random.js";
import { InvalidArgumentError } from "../host/errors.js";
import type { AgentStep } from "../host/device/agent.js";

export const POWERCUT_STEPS: AgentStep[] = [
  "job-accepted", "download", "download-done", "verify", "slot-erase", "slot-write-model", "slot-write-manifest",
  "slot-written", "health-check", "commit", "committed", "job-done",
];

export interface PowerCutAt {
  step: AgentStep;
  /** 0: cut at the step itself; n > 0: cut at the n-th flash operation after it (mid-write). */
  afterOps: number;
}

export interface FaultSpec {
  seed: number;
  /** Per check, the chance each device's link drops. */
  drop: number;
  dropEveryMs: number;
  /** Incoming messages are delayed by a random 0..delay ms (and so may be reordered). */
  delay: number;
  powercut: PowerCutAt[];
  /** Fraction of devices that suffer the power cuts. */
  powercutP: number;
  /** Chance that a file with unsynced data is torn at a power cut. */
  torn: number;
  /** Device clocks are off by a random amount in [-skew, +skew] ms. */
  skew: number;
  /** Restart the (embedded) broker every this many ms; 0 = never. */
  brokerRestartMs: number;
  rebootDelayMs: number;
}

export const NO_FAULTS: FaultSpec = {
  seed: 1, drop: 0, dropEveryMs: 1000, delay: 0, powercut: [], powercutP: 1, torn: 0, skew: 0, brokerRestartMs: 0, rebootDelayMs: 300,
};

export function parseFaults(spec: string | undefined): FaultSpec {
  const f: FaultSpec = { ...NO_FAULTS, powercut: [] };
  if (!spec) return f;
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split("=", 2);
    const num = (min: number, max: number): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`faults: ${k}=${v}: expected a number in ${min}..${max}`);
      return n;
    };
    switch (k) {
      case "seed": f.seed = num(0, 2 ** 32 - 1); break;
      case "drop": f.drop = num(0, 1); break;
      case "drop-every": f.dropEveryMs = num(10, 3_600_000); break;
      case "delay": f.delay = num(0, 60_000); break;
      case "torn": f.torn = num(0, 1); break;
      case "skew": f.skew = num(0, 365 * 86_400_000); break;
      case "broker-restart": f.brokerRestartMs = num(0, 86_400_000); break;
      case "reboot-delay": f.rebootDelayMs = num(0, 600_000); break;
      case "powercut-p": f.powercutP = num(0, 1); break;
      case "powercut":
        for (const s of (v ?? "").split("|")) {
          const m = /^([a-z-]+)(?:\+(\d+))?$/.exec(s);
          if (!m || !POWERCUT_STEPS.includes(m[1] as AgentStep)) {
            throw new InvalidArgumentError(`faults: powercut=${s}: expected STEP or STEP+N, STEP one of ${POWERCUT_STEPS.join(", ")}`);
          }
          f.powercut.push({ step: m[1] as AgentStep, afterOps: m[2] ? Number(m[2]) : 0 });
        }
        break;
      default:
        throw new InvalidArgumentError(`faults: unknown key '${k}' (seed, drop, drop-every, delay, powercut, powercut-p, torn, skew, broker-restart, reboot-delay)`);
    }
  }
  return f;
}

/** mulberry32 (host/util/random.ts): small, fast, seedable. */
export const rng32 = mulberry32;

export function hashSeed(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
