// Locating ../shared (third-party models, inputs and TFLM goldens; never committed).
// QEDGE_SHARED overrides the default of ../shared next to the repository.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function sharedDir(): string | null {
  const dir = process.env.QEDGE_SHARED ?? resolve(repoRoot, "..", "shared");
  return existsSync(join(dir, "models")) ? dir : null;
}

export const SHARED = sharedDir();
/** Reason printed by tests that skip because ../shared is absent. */
export const NO_SHARED = "../shared (or $QEDGE_SHARED) is absent: skipping tests that need the third-party models";
if (!SHARED) console.warn(NO_SHARED);

export function sharedFile(...parts: string[]): Uint8Array {
  if (!SHARED) throw new Error(NO_SHARED);
  return new Uint8Array(readFileSync(join(SHARED, ...parts)));
}
