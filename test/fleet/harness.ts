// Test harness for fleet scenarios: a broker (embedded aedes, or a real Mosquitto on a free
// loopback port) with per-device credentials and ACLs, N simulated boards running the real
// device agent, a controller, a signing key, and a rollout store in a temp directory.
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { derivedDevicePassword, hashPassword } from "../../host/broker/auth.js";
import { startBroker } from "../../host/broker/embedded.js";
import { findMosquitto, findMosquittoPasswd, startMosquitto } from "../../host/broker/mosquitto.js";
import { FakeRuntime, fakeModelBytes } from "../../host/device/fake-runtime.js";
import type { ModelRuntime } from "../../host/device/runtime.js";
import { SlotStore } from "../../host/device/slots.js";
import { makeArtifact, type Artifact } from "../../host/fleet/artifact.js";
import { FleetController, type ControllerOptions } from "../../host/fleet/controller.js";
import { generateSigningKey } from "../../host/fleet/manifest.js";
import { createRollout, ROLLOUT_DEFAULTS, RolloutStore, runRollout, type RolloutEvents, type RolloutParams, type RolloutReport } from "../../host/fleet/rollout.js";
import type { FaultSpec } from "../../firmware-sim/faults.js";
import { SimFleet, type SimOptions } from "../../firmware-sim/runner.js";

export const HAVE_MOSQUITTO = !!(findMosquitto() && findMosquittoPasswd());
export const NO_MOSQUITTO = "mosquitto is not installed (apt-get install mosquitto mosquitto-clients): skipping the Mosquitto fleet tests";
if (!HAVE_MOSQUITTO) console.warn(NO_MOSQUITTO);

export interface BrokerCase {
  name: string;
  kind: "aedes" | "mosquitto";
  /** MQTT version devices and controller use ("auto" exercises the 5 → 3.1.1 fallback). */
  protocol: "auto" | 4 | 5;
}

export const BROKER_CASES: BrokerCase[] = [
  { name: "aedes / MQTT 3.1.1", kind: "aedes", protocol: "auto" },
  { name: "mosquitto / MQTT 3.1.1", kind: "mosquitto", protocol: 4 },
  { name: "mosquitto / MQTT 5", kind: "mosquitto", protocol: 5 },
];

export const skipCase = (c: BrokerCase) => c.kind === "mosquitto" && !HAVE_MOSQUITTO;

export const CONTROLLER_USER = "ctl";
export const CONTROLLER_PASSWORD = "controller-pw";
export const FLEET_SECRET = "fleet-secret-for-tests";

export interface BrokerHandle {
  url: string;
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
  deniedPublishes(): number | null;
}

export async function startTestBroker(c: BrokerCase, deviceIds: string[]): Promise<BrokerHandle> {
  if (c.kind === "aedes") {
    const b = await startBroker({ port: 0, auth: { deviceSecret: FLEET_SECRET, users: { [CONTROLLER_USER]: hashPassword(CONTROLLER_PASSWORD, "controller") } } });
    return { url: b.url, restart: (ms) => b.restart(ms), close: () => b.close(), deniedPublishes: () => b.stats().deniedPublishes };
  }
  const users: Record<string, { password: string; role: "device" | "controller" }> = { [CONTROLLER_USER]: { password: CONTROLLER_PASSWORD, role: "controller" } };
  for (const id of deviceIds) users[id] = { password: derivedDevicePassword(FLEET_SECRET, id), role: "device" };
  const m = await startMosquitto({ users });
  return { url: m.url, restart: (ms) => m.restart(ms), close: () => m.close(), deniedPublishes: () => null };
}

export interface FleetHarnessOptions {
  devices: number;
  boards?: string;
  idPrefix?: string;
  faults?: FaultSpec;
  faultsFor?: SimOptions["faultsFor"];
  runtime?: ModelRuntime;
  /** Extra device ids that get broker credentials but no simulated board (rogue clients). */
  extraIds?: string[];
  controller?: Partial<ControllerOptions>;
  agent?: SimOptions["agent"];
  log?: boolean;
}

export interface FleetHarness {
  broker: BrokerHandle;
  fleet: SimFleet;
  ctl: FleetController;
  priv: KeyObject;
  pub: KeyObject;
  store: RolloutStore;
  dir: string;
  protocol: "auto" | 4 | 5;
  artifact(label: string, version: string, opts?: { size?: number; key?: KeyObject; boards?: string[]; blockSize?: number }): Promise<Artifact>;
  rollout(art: Artifact, params?: Partial<RolloutParams>, ev?: RolloutEvents): Promise<RolloutReport>;
  /** Independent check of a board's flash: the active slot verifies with the trusted key. */
  verifiedModel(id: string): Promise<string | null>;
  rawClient(username: string, password: string, clientId?: string): Promise<MqttClient>;
  newController(): Promise<FleetController>;
  close(): Promise<void>;
}

/** Fast timings for tests: short retry timers, generous overall deadlines. */
export const TEST_AGENT = { reconnectMs: 200, keepaliveSec: 5, download: { window: 8, blockTimeoutMs: 1500, maxStalls: 40, checkpointEvery: 4 } };
export const TEST_ROLLOUT: Partial<RolloutParams> = { deviceTimeoutMs: 90_000, ackTimeoutMs: 3000, retries: 10, offlineGraceMs: 90_000, concurrency: 200 };

export async function startFleet(c: BrokerCase, o: FleetHarnessOptions): Promise<FleetHarness> {
  const prefix = o.idPrefix ?? "dev-";
  const width = Math.max(3, String(o.devices).length);
  const ids = Array.from({ length: o.devices }, (_, i) => `${prefix}${String(i + 1).padStart(width, "0")}`);
  const broker = await startTestBroker(c, [...ids, ...(o.extraIds ?? [])]);
  const kp = generateSigningKey();
  const priv = createPrivateKey(kp.privateKeyPem);
  const pub = createPublicKey(kp.publicKeyPem);
  const log = o.log ? (l: string) => console.log(l) : undefined;
  const fleet = new SimFleet({
    broker: broker.url, devices: o.devices, boards: o.boards, idPrefix: prefix, trustedKeys: [pub], runtime: o.runtime ?? new FakeRuntime(),
    credentials: (id) => ({ username: id, password: derivedDevicePassword(FLEET_SECRET, id) }),
    faults: o.faults, faultsFor: o.faultsFor, protocol: c.protocol, restartBroker: () => broker.restart(),
    agent: { ...TEST_AGENT, ...o.agent }, log,
  });
  await fleet.start();
  await fleet.waitConnected(o.devices, 120_000);
  const newController = async () => {
    const ctl = new FleetController({ broker: broker.url, username: CONTROLLER_USER, password: CONTROLLER_PASSWORD, protocol: c.protocol, log, ...o.controller });
    await ctl.connect();
    return ctl;
  };
  const ctl = await newController();
  // Every board's retained birth is visible to the controller before a test starts.
  for (let t = 0; ctl.devices().filter((d) => d.online).length < o.devices; t++) {
    if (t > 2400) throw new Error(`controller sees ${ctl.devices().length}/${o.devices} devices`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const dir = mkdtempSync(join(tmpdir(), "qedge-fleet-test-"));
  const store = new RolloutStore(dir);
  const h: FleetHarness = {
    broker, fleet, ctl, priv, pub, store, dir, protocol: c.protocol,
    async artifact(label, version, a = {}) {
      return makeArtifact(fakeModelBytes(`${label}@${version}`, a.size ?? 40_000), a.key ?? priv, { modelId: label, version, boards: a.boards, blockSize: a.blockSize ?? 4096 });
    },
    async rollout(art, params = {}, ev = {}) {
      await store.saveArtifact(art.signed.manifest.sha256, art.bytes);
      const targets = ctl.devices().filter((d) => ids.includes(d.id)).map((d) => d.id);
      const s = createRollout(targets, art.deployment, { ...ROLLOUT_DEFAULTS, ...TEST_ROLLOUT, ...params });
      await store.save(s);
      return runRollout(ctl, store, s, { log, ...ev });
    },
    async verifiedModel(id) {
      const b = fleet.board(id)!;
      const slots = new SlotStore(b.flash.mount(), [pub]);
      await slots.load();
      const a = slots.boot.active;
      if (!a) return null;
      const v = await slots.verify(a);
      return v.signed.manifest.sha256;
    },
    async rawClient(username, password, clientId) {
      const cl = mqtt.connect(broker.url, { clientId: clientId ?? username, username, password, protocolVersion: c.protocol === 5 ? 5 : 4, reconnectPeriod: 0, clean: true });
      await new Promise<void>((resolve, reject) => { cl.once("connect", () => resolve()); cl.once("error", reject); });
      return cl;
    },
    newController,
    async close() {
      await ctl.close();
      await fleet.stop();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; generous deadline, no timing assertions. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}
