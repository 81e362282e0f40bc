// Model artifact manifests, signed with Ed25519 (node:crypto). The signature covers the
// canonical JSON of the manifest (keys sorted at every level), so any change to any field
// — size, digest, board list — breaks it. Devices hold a LIST of trusted public keys and
// accept a signature from any of them, which lets keys rotate without re-flashing devices.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { ManifestError, SignatureError } from "./errors.js";
import { isObject, type SignedManifestWire } from "./protocol.js";

export const MANIFEST_FORMAT = "qedge-model/1";
export const KERNEL_LEVELS = ["scalar", "simd", "relaxed"] as const;
export type KernelLevel = (typeof KERNEL_LEVELS)[number];

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  modelId: string;
  version: string;
  /** Exact byte length of the model file. */
  size: number;
  /** Lower-case hex SHA-256 of the model file. */
  sha256: string;
  /** Board profile names the model is built for; ["*"] means any. */
  boards: string[];
  /** The least kernel build the model needs (scalar < simd < relaxed). */
  minKernel: KernelLevel;
  /** Block size of the MQTT stream that delivers the file. */
  blockSize: number;
  createdAt: string;
  /** Self-test the device runs before committing: a seeded input, optionally the expected output digest. */
  selfTest?: { inputSeed: number; outputSha256?: string };
}

export interface SignedManifest {
  manifest: Manifest;
  signature: string;
  keyId: string;
}

export const MAX_BLOCK_SIZE = 256 * 1024;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with object keys sorted recursively: the exact bytes that get signed. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Validates an untrusted manifest object field by field. */
export function parseManifest(o: unknown): Manifest {
  if (!isObject(o)) throw new ManifestError("manifest: expected an object");
  const str = (k: string, re?: RegExp): string => {
    const v = o[k];
    if (typeof v !== "string" || v.length === 0 || v.length > 256) throw new ManifestError(`manifest.${k}: expected a non-empty string`);
    if (re && !re.test(v)) throw new ManifestError(`manifest.${k}: '${v}' does not match ${re}`);
    return v;
  };
  const int = (k: string, min: number, max: number): number => {
    const v = o[k];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ManifestError(`manifest.${k}: expected an integer in ${min}..${max}`);
    return v as number;
  };
  if (o.format !== MANIFEST_FORMAT) throw new ManifestError(`manifest.format: expected '${MANIFEST_FORMAT}', got '${String(o.format)}'`);
  const boards = o.boards;
  if (!Array.isArray(boards) || boards.length === 0 || !boards.every((b) => typeof b === "string" && b.length > 0)) {
    throw new ManifestError("manifest.boards: expected a non-empty list of board names");
  }
  const minKernel = o.minKernel;
  if (!KERNEL_LEVELS.includes(minKernel as KernelLevel)) throw new ManifestError(`manifest.minKernel: expected one of ${KERNEL_LEVELS.join(", ")}`);
  let selfTest: Manifest["selfTest"];
  if (o.selfTest !== undefined) {
    const st = o.selfTest;
    if (!isObject(st) || !Number.isInteger(st.inputSeed)) throw new ManifestError("manifest.selfTest.inputSeed: expected an integer");
    if (st.outputSha256 !== undefined && (typeof st.outputSha256 !== "string" || !/^[0-9a-f]{64}$/.test(st.outputSha256))) {
      throw new ManifestError("manifest.selfTest.outputSha256: expected 64 hex digits");
    }
    selfTest = { inputSeed: st.inputSeed as number, outputSha256: st.outputSha256 as string | undefined };
  }
  return {
    format: MANIFEST_FORMAT,
    modelId: str("modelId", /^[A-Za-z0-9._-]+$/),
    version: str("version", /^[A-Za-z0-9._+-]+$/),
    size: int("size", 1, 2 ** 31),
    sha256: str("sha256", /^[0-9a-f]{64}$/),
    boards: boards as string[],
    minKernel: minKernel as KernelLevel,
    blockSize: int("blockSize", 256, MAX_BLOCK_SIZE),
    createdAt: str("createdAt"),
    selfTest,
  };
}

// ---------------------------------------------------------------- keys

export interface KeyPairPem { privateKeyPem: string; publicKeyPem: string; keyId: string }

export function generateSigningKey(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicKeyPem, keyId: keyIdOf(publicKey) };
}

/** Short stable name of a public key: the first 16 hex digits of SHA-256 over its SPKI DER. */
export function keyIdOf(key: KeyObject): string {
  return sha256Hex(key.export({ type: "spki", format: "der" })).slice(0, 16);
}

export function loadPrivateKey(pem: string): KeyObject {
  try {
    const k = createPrivateKey(pem);
    if (k.asymmetricKeyType !== "ed25519") throw new Error(`key type is ${k.asymmetricKeyType}`);
    return k;
  } catch (e) {
    throw new SignatureError(`not an Ed25519 private key: ${(e as Error).message}`);
  }
}

export function loadPublicKey(pem: string): KeyObject {
  try {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== "ed25519") throw new Error(`key type is ${k.asymmetricKeyType}`);
    return k;
  } catch (e) {
    throw new SignatureError(`not an Ed25519 public key: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- sign / verify

export function buildManifest(bytes: Uint8Array, opts: {
  modelId: string; version: string; boards?: string[]; minKernel?: KernelLevel; blockSize?: number;
  selfTest?: Manifest["selfTest"]; createdAt?: string;
}): Manifest {
  return parseManifest({
    format: MANIFEST_FORMAT,
    modelId: opts.modelId,
    version: opts.version,
    size: bytes.length,
    sha256: sha256Hex(bytes),
    boards: opts.boards ?? ["*"],
    minKernel: opts.minKernel ?? "scalar",
    blockSize: opts.blockSize ?? 16 * 1024,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    selfTest: opts.selfTest,
  });
}

export function signManifest(manifest: Manifest, privateKey: KeyObject): SignedManifest {
  const signature = sign(null, Buffer.from(canonicalJson(manifest), "utf8"), privateKey).toString("base64");
  return { manifest, signature, keyId: keyIdOf(createPublicKey(privateKey)) };
}

/**
 * Checks the signature against every trusted key (the keyId is only a hint, never trusted),
 * then validates the manifest. Throws SignatureError / ManifestError.
 */
export function verifySignedManifest(wire: SignedManifestWire, trusted: KeyObject[]): SignedManifest {
  if (trusted.length === 0) throw new SignatureError("no trusted public keys configured");
  if (typeof wire.signature !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(wire.signature)) {
    throw new SignatureError("signature: not base64");
  }
  const sig = Buffer.from(wire.signature, "base64");
  if (sig.length !== 64) throw new SignatureError(`signature: ${sig.length} bytes, Ed25519 signatures are 64`);
  const message = Buffer.from(canonicalJson(wire.manifest), "utf8");
  const ordered = [...trusted].sort((a, b) => Number(keyIdOf(b) === wire.keyId) - Number(keyIdOf(a) === wire.keyId));
  const signer = ordered.find((k) => verify(null, message, k, sig));
  if (!signer) throw new SignatureError("signature matches none of the trusted keys (tampered manifest or unknown signer)");
  return { manifest: parseManifest(wire.manifest), signature: wire.signature, keyId: keyIdOf(signer) };
}
