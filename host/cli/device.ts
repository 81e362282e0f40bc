// qedge device: run a device agent on this machine (its data directory is the A/B model store).
import { deviceFinetune } from "../device/finetune.js";
import { resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { derivedDevicePassword } from "../broker/auth.js";
import { DeviceAgent } from "../device/agent.js";
import { hostBoard, type BoardProfile } from "../device/board.js";
import { FakeRuntime } from "../device/fake-runtime.js";
import { QedgeRuntime } from "../device/runtime.js";
import { FsStorage } from "../device/storage.js";
import { CONNECTION_HELP, CONNECTION_OPTIONS, loadTrustedKeys, makeLogger, numberOption, parse, protocolOption, untilSignal } from "../fleet/cli-util.js";
import { checkDeviceId } from "../fleet/protocol.js";
import { boardProfile, BOARDS } from "../../firmware-sim/boards.js";

const HELP = `usage: qedge device --id ID --data-dir DIR --trust KEY.pub [--trust ...] [--board PROFILE]
                    [--broker URL] [--username U] [--password P | --fleet-secret S]
                    [--group G] [--telemetry-interval S] [--protocol auto|4|5] [--json]

Runs the device agent: keeps a persistent MQTT session under qedge/v1/<ID>/, announces itself
(retained status with a boot sequence number; the Will marks it lost), takes commands
(deploy, rollback, infer, status, reboot, finetune), installs signed models into A/B slots
in DIR with a health check and automatic rollback, and publishes inference telemetry.

  --id ID             device id (also its broker user name unless --username)
  --data-dir DIR      model slots, boot record, pending job, replay cache
  --trust FILE|DIR    Ed25519 public key(s) whose signatures are accepted (repeatable: rotation)
  --board PROFILE     budgets and kernel build: ${Object.keys(BOARDS).join(", ")} (default: this host)
  --fleet-secret S    derive the password from the broker's fleet secret
  --group G           group name controllers can target (fleet deploy --group)
  --telemetry-interval S  seconds between telemetry messages (default 10, 0 = off)
${CONNECTION_HELP}`;

export async function deviceCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    ...CONNECTION_OPTIONS,
    id: { type: "string" }, "data-dir": { type: "string" }, trust: { type: "string", multiple: true }, board: { type: "string" },
    "fleet-secret": { type: "string" }, group: { type: "string" }, "telemetry-interval": { type: "string", default: "10" },
    runtime: { type: "string", default: "qedge" },
  }, HELP);
  if (values.help) { console.log(HELP); return 0; }
  if (!values.id) throw new InvalidArgumentError(`--id is required\n\n${HELP}`);
  if (!values["data-dir"]) throw new InvalidArgumentError(`--data-dir is required\n\n${HELP}`);
  const id = checkDeviceId(values.id);
  const trusted = loadTrustedKeys(values.trust ?? []);
  if (trusted.length === 0) throw new InvalidArgumentError("give at least one --trust KEY.pub (from 'qedge keygen'): a device without trusted keys accepts no model");
  const board: BoardProfile = values.board ? boardProfile(values.board) : hostBoard();
  const password = values.password ?? (values["fleet-secret"] ? derivedDevicePassword(values["fleet-secret"], id) : undefined);
  if (values.runtime !== "qedge" && values.runtime !== "fake") throw new InvalidArgumentError("--runtime: expected qedge or fake");
  const log = makeLogger(values.json, "stdout");
  const agent = new DeviceAgent({
    id, broker: values.broker!, username: values.username ?? id, password,
    storage: new FsStorage(resolve(values["data-dir"])),
    runtime: values.runtime === "fake" ? new FakeRuntime() : new QedgeRuntime(),
    finetune: values.runtime === "fake" ? undefined : deviceFinetune,
    trustedKeys: trusted, board, group: values.group, firmware: `qedge/${process.version}`,
    protocol: protocolOption(values.protocol),
    telemetryIntervalMs: (numberOption("telemetry-interval", values["telemetry-interval"], 0, 86_400) ?? 10) * 1000,
    log,
  });
  await agent.start();
  log(`device ${id} (${board.name}, ${board.arch}, ${board.kernels} kernels) running; Ctrl-C to stop`);
  await untilSignal();
  await agent.stop();
  return 0;
}
