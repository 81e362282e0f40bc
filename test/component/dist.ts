// Paths of the built components (npm run build writes them; the tests never build dist/ themselves).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const DIST = join(ROOT, "dist");

/** dist/manifest.json, or a clear error if the components were not built. */
export function builtManifest(): { wit: { world: string; sha256: string }; qedge: string; components: any[] } {
  const p = join(DIST, "manifest.json");
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run build\` (it builds the components)`);
  return JSON.parse(readFileSync(p, "utf8"));
}

export const distFile = (name: string) => new Uint8Array(readFileSync(join(DIST, name)));
