// Typed failures of the QEMU harness. They extend QedgeError so `qedge qemu ...` prints them
// as one line naming what went wrong instead of a stack trace.
import { QedgeError } from "../../host/errors.js";

/** A downloaded file does not match the checksum its source published. */
export class ChecksumMismatchError extends QedgeError {
  constructor(
    public readonly file: string,
    public readonly algorithm: string,
    public readonly expected: string,
    public readonly actual: string,
    public readonly source: string,
  ) {
    super(`${file}: ${algorithm} is ${actual}, but ${source} says ${expected}`);
  }
}

/** A Debian Release / Packages index, or an npm manifest, is not what we can use. */
export class IndexFormatError extends QedgeError {
  constructor(public readonly where: string, public readonly detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** Preparing an emulated environment failed (network, a host tool, apt). */
export class QemuSetupError extends QedgeError {}

/** The emulated environment is missing or incomplete: `qedge qemu setup` first. */
export class QemuEnvMissingError extends QedgeError {}
