// Trainer checkpoints: a versioned, self-describing binary format.
//
//   bytes 0..7   magic "QEDGECKP"
//   bytes 8..11  format version, uint32 little-endian (currently 1)
//   bytes 12..15 header length H, uint32 little-endian
//   bytes 16..   header: H bytes of UTF-8 JSON (CheckpointHeader), then zero padding to a multiple of 4
//   then         tensor payload: float32 little-endian, each tensor at header.tensors[i].offset
//                (bytes from the start of the payload), length = product of its shape
//
// The header names the format and version, the model the checkpoint belongs to (a fingerprint
// of the trained section), the trainable tensors with their shapes, the optimizer and its scalar
// state, and training progress, so a checkpoint can be inspected without qedge and is refused
// when it does not match the trainer it is restored into.
import { InvalidArgumentError } from "../errors.js";

export const CHECKPOINT_MAGIC = "QEDGECKP";
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_FORMAT = "qedge.trainer.checkpoint";

export interface CheckpointTensor {
  name: string;
  dtype: "float32";
  shape: number[];
  /** Byte offset in the payload. */
  offset: number;
}

export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** sha256 (hex) of the trained section of the base model: layers, shapes and original weights. */
  modelFingerprint: string;
  /** Human hint: the base model's description and the trainable set. */
  model: { description: string; trainable: string[] };
  optimizer: { name: string; scalars: Record<string, number> };
  progress: { steps: number; epochs: number };
  tensors: CheckpointTensor[];
}

export interface CheckpointContents {
  header: CheckpointHeader;
  tensors: Map<string, Float32Array>;
}

const bad = (detail: string) => new InvalidArgumentError(`checkpoint: ${detail}`);

export function encodeCheckpoint(
  meta: Omit<CheckpointHeader, "format" | "version" | "tensors">,
  tensors: { name: string; shape: number[]; values: Float32Array }[],
): Uint8Array {
  let offset = 0;
  const list: CheckpointTensor[] = tensors.map((t) => {
    if (t.values.length !== t.shape.reduce((a, b) => a * b, 1)) throw bad(`tensor ${t.name}: ${t.values.length} values for shape [${t.shape}]`);
    const e: CheckpointTensor = { name: t.name, dtype: "float32", shape: t.shape.slice(), offset };
    offset += t.values.length * 4;
    return e;
  });
  const header: CheckpointHeader = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...meta, tensors: list };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = 16 + ((json.length + 3) & ~3);
  const out = new Uint8Array(start + offset);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  tensors.forEach((t, i) => {
    const base = start + list[i].offset;
    for (let k = 0; k < t.values.length; k++) dv.setFloat32(base + 4 * k, t.values[k], true);
  });
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): CheckpointContents {
  if (!(bytes instanceof Uint8Array)) throw bad("expected the checkpoint's bytes (a Uint8Array)");
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) {
    throw bad(`not a qedge trainer checkpoint (missing the "${CHECKPOINT_MAGIC}" signature)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw bad(`format version ${version} is not supported (this qedge reads version ${CHECKPOINT_VERSION})`);
  const hlen = dv.getUint32(12, true);
  if (16 + hlen > bytes.length) throw bad(`header length ${hlen} runs past the end of the ${bytes.length}-byte file`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch (e) {
    throw bad(`unreadable header (${(e as Error).message})`);
  }
  if (!header || header.format !== CHECKPOINT_FORMAT || header.version !== version) throw bad("header does not describe a qedge trainer checkpoint");
  if (typeof header.modelFingerprint !== "string" || !Array.isArray(header.tensors) || !header.optimizer || !header.progress) {
    throw bad("header is missing fields (modelFingerprint, tensors, optimizer, progress)");
  }
  const start = 16 + ((hlen + 3) & ~3);
  const payload = bytes.length - start;
  const tensors = new Map<string, Float32Array>();
  for (const t of header.tensors) {
    const count = Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0) ? t.shape.reduce((a, b) => a * b, 1) : -1;
    if (typeof t.name !== "string" || t.dtype !== "float32" || count < 0 || !Number.isInteger(t.offset) || t.offset < 0 || t.offset + 4 * count > payload) {
      throw bad(`tensor entry ${JSON.stringify(t.name)} is malformed or lies outside the payload`);
    }
    if (tensors.has(t.name)) throw bad(`tensor ${t.name} is listed twice`);
    const v = new Float32Array(count);
    for (let k = 0; k < count; k++) v[k] = dv.getFloat32(start + t.offset + 4 * k, true);
    tensors.set(t.name, v);
  }
  return { header, tensors };
}
