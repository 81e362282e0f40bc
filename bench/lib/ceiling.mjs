// Compile bench/wasm/ceiling.ts (AssemblyScript, with asc, into a temporary file) and measure,
// in GMAC/s, what one core gets from i32x4.dot_i16x8_s: the instruction's peak and the register
// tiles (see there).
// Medians of interleaved rounds, like the peers.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");

/** MACs per call of each export with argument n. */
const MACS = { peak: (n) => n * 64, tile: (n) => n * 128 * 64, tile8: (n) => n * 128 * 64, tile12: (n) => n * 128 * 96 };
const ARG = { peak: 400_000, tile: 200, tile8: 200, tile12: 200 };

/** Compile wasm/ceiling.ts with the project's asc; returns the wasm bytes or { error }. */
export function compileCeiling() {
  const dir = mkdtempSync(join(tmpdir(), "qedge-ceiling-"));
  try {
    const out = join(dir, "ceiling.wasm");
    const asc = join(ROOT, "node_modules", ".bin", "asc");
    const r = spawnSync(asc, [join(HERE, "..", "wasm", "ceiling.ts"), "-O3", "--enable", "simd", "--runtime", "stub", "--initialMemory", "1", "-o", out], { encoding: "utf8", cwd: dir });
    if (r.status !== 0) return { error: `asc failed: ${(r.stderr || r.stdout || "").trim().split("\n")[0]}` };
    return { wasm: readFileSync(out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function measureCeilings(rounds = 7) {
  const compiled = compileCeiling();
  if (compiled.error) return { error: compiled.error };
  const e = new WebAssembly.Instance(new WebAssembly.Module(compiled.wasm), { env: { abort() {} } }).exports;
  const names = Object.keys(MACS);
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) for (let w = 0; w < 3; w++) e[k](ARG[k]);
  for (let i = 0; i < rounds; i++) {
    for (const k of names) {
      const t0 = performance.now();
      e[k](ARG[k]);
      samples[k].push(MACS[k](ARG[k]) / ((performance.now() - t0) * 1e6));
    }
  }
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  return Object.fromEntries(names.map((k) => [`${k}_gmacs`, median(samples[k])]));
}
