// Checksums of downloaded files, compared with what their source published.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { ChecksumMismatchError, IndexFormatError } from "./errors.js";

export type HashAlgorithm = "sha1" | "sha256" | "sha512";

export async function hashFile(path: string, algorithm: HashAlgorithm, encoding: "hex" | "base64" = "hex"): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest(encoding);
}

export async function verifySha256(path: string, expectedHex: string, source: string): Promise<void> {
  const actual = await hashFile(path, "sha256");
  if (actual !== expectedHex.toLowerCase()) {
    throw new ChecksumMismatchError(path, "SHA-256", expectedHex.toLowerCase(), actual, source);
  }
}

/**
 * Check an npm tarball against its registry metadata: the Subresource-Integrity string
 * (`sha512-<base64>`, possibly several space-separated) and the legacy sha1 `shasum`.
 */
export async function verifyNpmTarball(path: string, integrity: string | undefined, shasum: string | undefined, source: string): Promise<void> {
  if (!integrity && !shasum) throw new IndexFormatError(source, "no integrity or shasum published");
  if (integrity) {
    const entries = integrity.trim().split(/\s+/).map((e) => {
      const m = /^(sha512|sha256|sha1)-([A-Za-z0-9+/=]+)$/.exec(e);
      if (!m) throw new IndexFormatError(source, `unreadable integrity entry '${e}'`);
      return { algorithm: m[1] as HashAlgorithm, digest: m[2] };
    });
    // The strongest algorithm listed decides (as npm does).
    const order: HashAlgorithm[] = ["sha512", "sha256", "sha1"];
    entries.sort((a, b) => order.indexOf(a.algorithm) - order.indexOf(b.algorithm));
    const best = entries[0];
    const actual = await hashFile(path, best.algorithm, "base64");
    if (actual !== best.digest) {
      throw new ChecksumMismatchError(path, `${best.algorithm} (integrity)`, best.digest, actual, source);
    }
  }
  if (shasum) {
    const actual = await hashFile(path, "sha1");
    if (actual !== shasum.toLowerCase()) throw new ChecksumMismatchError(path, "sha1 (shasum)", shasum, actual, source);
  }
}
