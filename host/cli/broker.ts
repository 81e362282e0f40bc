// qedge broker: the embedded MQTT broker (aedes, MQTT 3.1.1) with per-device credentials and
// topic ACLs; plus user-file management.
import { existsSync, writeFileSync } from "node:fs";
import { InvalidArgumentError } from "../errors.js";
import { derivedDevicePassword, hashPassword, loadAuthFile, randomSecret, type BrokerAuthConfig, type Role } from "../broker/auth.js";
import { startBroker } from "../broker/embedded.js";
import { makeLogger, numberOption, parse, untilSignal } from "../fleet/cli-util.js";
import { checkDeviceId } from "../fleet/protocol.js";

const HELP = `usage: qedge broker [--port 1883] [--host 127.0.0.1] [--users FILE] [--json]
       qedge broker adduser --users FILE --user NAME [--role device|controller] [--password PW]
       qedge broker secret --users FILE
       qedge broker device-password --users FILE --id DEVICE

Runs the embedded MQTT broker (MQTT 3.1.1). With --users it requires credentials and
enforces the qedge ACL: a device may publish and subscribe only under qedge/v1/<its name>/
and must use its name as client id; a controller may use all of qedge/v1/.
Without --users the broker is open to anyone (development only).

  adduser          add or replace a user (scrypt hash); prints a generated password if none given
  secret           create the fleet secret: every device's password is then
                   HMAC-SHA256(secret, device id), so devices need no user-file entry
  device-password  print the password of a device under the fleet secret`;

function readUsers(path: string): BrokerAuthConfig {
  return existsSync(path) ? loadAuthFile(path) : {};
}

function writeUsers(path: string, cfg: BrokerAuthConfig): void {
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
}

export async function brokerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    port: { type: "string", default: "1883" }, host: { type: "string", default: "127.0.0.1" }, users: { type: "string" },
    user: { type: "string" }, role: { type: "string", default: "device" }, password: { type: "string" }, id: { type: "string" },
    json: { type: "boolean" }, help: { type: "boolean", short: "h" },
  }, HELP);
  if (values.help) { console.log(HELP); return 0; }
  const sub = positionals[0];
  if (sub === "adduser" || sub === "secret" || sub === "device-password") {
    if (!values.users) throw new InvalidArgumentError(`--users FILE is required\n\n${HELP}`);
    const cfg = readUsers(values.users);
    if (sub === "adduser") {
      if (!values.user) throw new InvalidArgumentError("--user NAME is required");
      const role = values.role as Role;
      if (role !== "device" && role !== "controller") throw new InvalidArgumentError(`--role: expected device or controller, got '${role}'`);
      if (role === "device") checkDeviceId(values.user, "device user name");
      const password = values.password ?? randomSecret(18);
      cfg.users = { ...cfg.users, [values.user]: hashPassword(password, role) };
      writeUsers(values.users, cfg);
      if (values.json) console.log(JSON.stringify({ user: values.user, role, ...(values.password ? {} : { password }) }));
      else console.log(`${role} '${values.user}' added to ${values.users}${values.password ? "" : `; password: ${password}`}`);
      return 0;
    }
    if (sub === "secret") {
      cfg.deviceSecret = randomSecret();
      writeUsers(values.users, cfg);
      if (values.json) console.log(JSON.stringify({ deviceSecret: cfg.deviceSecret }));
      else console.log(`fleet secret written to ${values.users}: ${cfg.deviceSecret}\n(device password = HMAC-SHA256(secret, id); 'qedge device --fleet-secret' / 'qedge sim --fleet-secret' derive it)`);
      return 0;
    }
    if (!values.id) throw new InvalidArgumentError("--id DEVICE is required");
    if (!cfg.deviceSecret) throw new InvalidArgumentError(`${values.users} has no fleet secret (run: qedge broker secret --users ${values.users})`);
    const pw = derivedDevicePassword(cfg.deviceSecret, checkDeviceId(values.id));
    console.log(values.json ? JSON.stringify({ id: values.id, password: pw }) : pw);
    return 0;
  }
  if (sub) throw new InvalidArgumentError(`unknown subcommand '${sub}'\n\n${HELP}`);
  const port = numberOption("port", values.port, 0, 65535)!;
  const auth = values.users ? loadAuthFile(values.users) : null;
  const log = makeLogger(values.json, "stdout");
  const broker = await startBroker({ port, host: values.host, auth, log });
  if (values.json) console.log(JSON.stringify({ url: broker.url, port: broker.port, auth: auth ? "users" : "open" }));
  else log(`qedge broker listening on ${broker.url} (${auth ? `users from ${values.users}` : "open: no --users"}); Ctrl-C to stop`);
  await untilSignal();
  await broker.close();
  return 0;
}

