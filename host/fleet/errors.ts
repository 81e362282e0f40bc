// Typed errors of fleet control. Each names what was wrong; the device turns them into
// `rejected` / failed replies carrying `error.type`, never a crash.
import { QedgeError } from "../errors.js";

/** A message that is not valid protocol (bad JSON, missing or mistyped field, topic outside the device root). */
export class ProtocolError extends QedgeError {}

/** The signed manifest's signature matches none of the trusted public keys. */
export class SignatureError extends QedgeError {}

/** The manifest is malformed or inconsistent (fields missing, wrong types, impossible sizes). */
export class ManifestError extends QedgeError {}

/** Bytes do not match their advertised digest (a block or the whole artifact). */
export class IntegrityError extends QedgeError {}

/** The artifact is larger than this device accepts. */
export class ArtifactTooLargeError extends QedgeError {}

/** The artifact is not built for this board (board list or kernel features). */
export class IncompatibleArtifactError extends QedgeError {}

/** A request id already seen, or a timestamp older than the replay window. */
export class ReplayError extends QedgeError {}

/** A command whose expiry has passed (or whose timestamp is implausibly far in the future). */
export class ExpiredError extends QedgeError {}

/** The new model failed its health check (load, self-test, latency or arena budget). */
export class HealthCheckError extends QedgeError {}

/** A round trip got no answer in time, after its retries. */
export class FleetTimeoutError extends QedgeError {}

/** The device is busy with another install. */
export class BusyError extends QedgeError {}

/** The device has no model installed (or no verified one to roll back to). */
export class NoModelError extends QedgeError {}

/** Storage was cut off mid-operation (simulated power loss). Never caught as an ordinary failure. */
export class PowerCutError extends QedgeError {}

/** Serialisable form of an error for replies. */
export function errorInfo(e: unknown): { type: string; message: string } {
  if (e instanceof Error) return { type: e.name, message: e.message };
  return { type: "Error", message: String(e) };
}

/** A command this agent does not support (yet), e.g. `finetune` before the training API is wired in. */
export class UnsupportedCommandError extends QedgeError {}
