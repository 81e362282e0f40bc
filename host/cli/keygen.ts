// qedge keygen --out DIR: an Ed25519 key pair for signing model deployments.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { parse } from "../fleet/cli-util.js";
import { generateSigningKey } from "../fleet/manifest.js";

const HELP = `usage: qedge keygen --out DIR [--name NAME] [--force] [--json]

Makes an Ed25519 key pair for signing model deployments:
  DIR/NAME.key   private key (PKCS#8 PEM, mode 0600): give it to 'qedge fleet deploy --key'
  DIR/NAME.pub   public key (SPKI PEM): give it to devices with 'qedge device --trust'
Devices trust a list of public keys, so a new key can be added to them before the old one
is retired (key rotation). NAME defaults to 'qedge-signing'.`;

export async function keygenCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    out: { type: "string" }, name: { type: "string", default: "qedge-signing" }, force: { type: "boolean" },
    json: { type: "boolean" }, help: { type: "boolean", short: "h" },
  }, HELP);
  if (values.help) { console.log(HELP); return 0; }
  if (!values.out) throw new InvalidArgumentError(`--out DIR is required\n\n${HELP}`);
  if (!/^[A-Za-z0-9._-]+$/.test(values.name!)) throw new InvalidArgumentError(`--name: '${values.name}' must be letters, digits, '.', '_', '-'`);
  const dir = resolve(values.out);
  const keyPath = join(dir, `${values.name}.key`);
  const pubPath = join(dir, `${values.name}.pub`);
  if (!values.force && (existsSync(keyPath) || existsSync(pubPath))) {
    throw new InvalidArgumentError(`${keyPath} or ${pubPath} already exists (use --force to overwrite)`);
  }
  mkdirSync(dir, { recursive: true });
  const k = generateSigningKey();
  writeFileSync(keyPath, k.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubPath, k.publicKeyPem, { mode: 0o644 });
  if (values.json) console.log(JSON.stringify({ privateKey: keyPath, publicKey: pubPath, keyId: k.keyId }));
  else console.log(`key ${k.keyId}\n  private: ${keyPath}\n  public:  ${pubPath}`);
  return 0;
}
