// qedge sim: many simulated boards in one process, each running the real device agent on its
// own simulated flash, with board profiles and fault injection.
import { resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { derivedDevicePassword, loadAuthFile, type BrokerAuthConfig } from "../broker/auth.js";
import { startBroker, type EmbeddedBroker } from "../broker/embedded.js";
import type { BoardProfile } from "../device/board.js";
import { FakeRuntime } from "../device/fake-runtime.js";
import { QedgeRuntime } from "../device/runtime.js";
import { CONNECTION_HELP, CONNECTION_OPTIONS, loadTrustedKeys, makeLogger, numberOption, parse, protocolOption, table, untilSignal } from "../fleet/cli-util.js";
import { BOARDS } from "../../firmware-sim/boards.js";
import { parseFaults, POWERCUT_STEPS } from "../../firmware-sim/faults.js";
import { SimFleet } from "../../firmware-sim/runner.js";
import { supportedBuilds } from "../wasm/kernels.js";

const HELP = `usage: qedge sim --devices N --trust KEY.pub [--board PROFILE|mixed] [--faults SPEC]
                 [--broker URL] [--fleet-secret S | --password P] [--embedded [--users FILE]]
                 [--data-dir DIR] [--prefix sim-] [--duration S] [--runtime qedge|fake] [--json]

Runs N simulated boards in this process. Each runs the real device agent with its own
simulated flash (in memory, or DIR/<id>/ with --data-dir so boards keep their models across
runs), its board's memory cap, arch label and kernel build (visionfive2 = riscv64 = scalar).

  --board P        ${Object.keys(BOARDS).join(", ")}, or mixed (default), or a comma list
  --faults SPEC    comma list of: seed=N, drop=P (link drop chance per board per second),
                   drop-every=MS, delay=MS (incoming messages delayed up to MS, so reordered),
                   powercut=STEP[+N][|STEP...] (cut power at an install step, or N flash
                   operations after it), powercut-p=P (share of boards affected), torn=P
                   (chance an unsynced file is torn at a cut), skew=MS (clock skew up to ±MS),
                   broker-restart=MS (with --embedded), reboot-delay=MS
                   steps: ${POWERCUT_STEPS.join(", ")}
  --fleet-secret S per-device passwords derived from the broker's fleet secret
  --embedded       start the embedded broker on --broker's port in this process
                   (with --users FILE: its users and fleet secret; else open)
  --duration S     stop after S seconds (default: run until Ctrl-C)
  --runtime R      qedge (real kernels, default) or fake (protocol only: no kernels run)
${CONNECTION_HELP}`;

export async function simCommand(args: string[]): Promise<number> {
  const { values: v } = parse(args, {
    ...CONNECTION_OPTIONS,
    devices: { type: "string" }, board: { type: "string", default: "mixed" }, faults: { type: "string" },
    trust: { type: "string", multiple: true }, "fleet-secret": { type: "string" }, embedded: { type: "boolean" }, users: { type: "string" },
    "data-dir": { type: "string" }, prefix: { type: "string", default: "sim-" }, duration: { type: "string" }, runtime: { type: "string", default: "qedge" },
  }, HELP);
  if (v.help) { console.log(HELP); return 0; }
  const n = numberOption("devices", v.devices, 1, 100_000);
  if (!n) throw new InvalidArgumentError(`--devices N is required\n\n${HELP}`);
  const trusted = loadTrustedKeys(v.trust ?? []);
  if (trusted.length === 0) throw new InvalidArgumentError("give at least one --trust KEY.pub (from 'qedge keygen')");
  const faults = parseFaults(v.faults);
  if (v.runtime !== "qedge" && v.runtime !== "fake") throw new InvalidArgumentError("--runtime: expected qedge or fake");
  const log = makeLogger(v.json, "stdout");
  let broker: EmbeddedBroker | null = null;
  let secret = v["fleet-secret"];
  if (v.embedded) {
    const url = new URL(v.broker!);
    let auth: BrokerAuthConfig | null = v.users ? loadAuthFile(v.users) : null;
    if (secret) auth = { ...auth, deviceSecret: secret };
    secret ??= auth?.deviceSecret;
    broker = await startBroker({ port: Number(url.port || 1883), host: url.hostname, auth, log });
    log(`embedded broker on ${broker.url} (${auth ? "credentials required" : "open"})`);
  }
  if (faults.brokerRestartMs && !broker) throw new InvalidArgumentError("faults: broker-restart needs --embedded (the simulator can only restart a broker it runs)");
  const supported = supportedBuilds();
  const clamp = (b: BoardProfile): BoardProfile => {
    if (v.runtime === "fake" || supported.includes(b.kernels)) return b;
    const order = ["relaxed", "simd", "scalar"] as const;
    const k = order.slice(order.indexOf(b.kernels)).find((x) => supported.includes(x)) ?? "scalar";
    return { ...b, kernels: k };
  };
  const fleet = new SimFleet({
    broker: broker?.url ?? v.broker!, devices: n, boards: v.board, idPrefix: v.prefix, trustedKeys: trusted,
    runtime: v.runtime === "fake" ? new FakeRuntime() : new QedgeRuntime(),
    credentials: secret ? (id) => ({ username: id, password: derivedDevicePassword(secret!, id) })
      : v.password ? (id) => ({ username: v.username ?? id, password: v.password! }) : undefined,
    dataDir: v["data-dir"] ? resolve(v["data-dir"]) : undefined, faults, protocol: protocolOption(v.protocol), kernelClamp: clamp,
    restartBroker: broker ? () => broker!.restart() : undefined,
    agent: { telemetryIntervalMs: 10_000 }, log: v.json ? undefined : (l) => { if (/POWER CUT|refused|failed|rebirth/.test(l)) log(l); },
  });
  await fleet.start();
  const summary = () => fleet.boards.map((b) => ({
    device: b.id, board: b.profile.name, arch: b.profile.arch, kernels: b.profile.kernels, connected: !!b.agent?.isConnected,
    model: b.agent?.activeModel ? `${b.agent.activeModel.id}@${b.agent.activeModel.version}` : null, boots: b.boots, powerCuts: b.powerCuts,
  }));
  log(`${n} simulated board(s) started; ${fleet.connected()} connected to ${broker?.url ?? v.broker}`);
  const duration = numberOption("duration", v.duration, 0, 86_400 * 30);
  await (duration !== undefined ? new Promise((r) => setTimeout(r, duration * 1000)) : untilSignal());
  const rows = summary();
  await fleet.stop();
  await broker?.close();
  console.log(v.json ? JSON.stringify(rows, null, 2) : table(rows));
  return 0;
}

