// The kernel self-test: golden vectors generated from the TypeScript references (never from the
// kernels), run (1) in V8 on every build, (2) under wasmtime through Wizer, which exits 1 when the
// init function traps, and (3) as a WASI command component through `jco run`.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { selftestGraph, selftestVectorsSource, VECTORS_FILE } from "../../host/build/selftest-vectors.js";
import { kernelBytes, KERNEL_BUILDS, type KernelBuild } from "../../host/wasm/kernels.js";
import { detectFeatures } from "../../host/wasm/features.js";
import { BUILDS } from "../helpers/kernel-harness.js";
import { builtManifest, DIST, ROOT } from "./dist.js";

const WIZER = join(ROOT, "node_modules", ".bin", "wizer");
const JCO = join(ROOT, "node_modules", ".bin", "jco");
const tmp = mkdtempSync(join(tmpdir(), "qedge-selftest-"));

/** Run `export` of a core module under wasmtime (Wizer): exit status 0 if it returned, 1 if it trapped. */
function wizer(wasm: Uint8Array, name: string): { status: number | null; stderr: string } {
  const file = join(tmp, `${name}.wasm`);
  writeFileSync(file, wasm);
  const r = spawnSync(WIZER, [file, "-o", "/dev/null", "--init-func", "selftest", "--wasm-simd", "true"], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

/** The module with one byte of the last check's expected output changed (the data is stored verbatim). */
function corrupted(wasm: Uint8Array): Uint8Array {
  const { checks } = selftestGraph();
  const want = new Uint8Array(checks[checks.length - 1].expected.buffer);
  const copy = wasm.slice();
  let at = -1;
  for (let i = 0; i + want.length <= copy.length && at < 0; i++) {
    if (want.every((v, k) => copy[i + k] === v)) at = i;
  }
  if (at < 0) throw new Error("expected output not found in the module's data");
  copy[at + 3] ^= 0x01;
  return copy;
}

describe("self-test vectors", () => {
  it(`${VECTORS_FILE} is what the generator produces from test/reference (npm run build:vectors)`, () => {
    expect(readFileSync(join(ROOT, VECTORS_FILE), "utf8")).toBe(selftestVectorsSource());
  });

  it("cover CONV_2D (direct and Winograd), DEPTHWISE_CONV_2D, both pools, ADD (plain and broadcast), FULLY_CONNECTED and SOFTMAX with varied outputs", () => {
    const { checks } = selftestGraph();
    expect(checks.map((c) => c.name)).toEqual([
      "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "ADD", "ADD (broadcast)", "FULLY_CONNECTED", "SOFTMAX",
      "CONV_2D 1x1", "CONV_2D 3x3 (Winograd)",
    ]);
    // Not degenerate: every operator's expected output takes many values.
    for (const c of checks) expect(new Set(c.expected).size).toBeGreaterThanOrEqual(Math.min(8, c.expected.length));
  });
});

describe("selftest export in V8", () => {
  for (const build of BUILDS) {
    it(`${build}: returns (every operator matches)`, () => {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes(build)), {});
      expect(() => (inst.exports.selftest as () => void)()).not.toThrow();
    });
    it(`${build}: traps when an expected byte is wrong`, () => {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(corrupted(kernelBytes(build)) as Uint8Array<ArrayBuffer>), {});
      expect(() => (inst.exports.selftest as () => void)()).toThrow(WebAssembly.RuntimeError);
    });
  }
});

// Wizer 10 (wasmtime inside) has a --wasm-simd flag but none for relaxed SIMD: it refuses
// modules that use relaxed-SIMD instructions ("relaxed SIMD support is not enabled").
const relaxedUses = (b: KernelBuild) => detectFeatures(kernelBytes(b)).then((f) => f.includes("relaxed-simd"));

describe("selftest under wasmtime (wizer --init-func selftest)", async () => {
  const usesRelaxed = await relaxedUses("relaxed");
  for (const build of KERNEL_BUILDS) {
    if (build === "relaxed" && usesRelaxed) {
      // The relaxed build's self-test runs in V8 above; here it must be refused outright, never
      // run with some other meaning of its instructions.
      it("relaxed: refused with a clear error (it uses relaxed-SIMD instructions, which Wizer 10 cannot enable)", () => {
        const r = wizer(kernelBytes(build), "refused-relaxed");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/relaxed SIMD support is not enabled/);
      });
      continue;
    }
    const note = build === "relaxed" ? " (this build uses no relaxed-SIMD instruction, so Wizer 10 can run it)" : "";
    it(`${build}: exits 0${note}`, () => {
      const r = wizer(kernelBytes(build), `ok-${build}`);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    });
  }
  it("scalar: exits 1 when an expected byte is wrong (the check can fail)", () => {
    const r = wizer(corrupted(kernelBytes("scalar")), "bad-scalar");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/trapped|unreachable/);
  });
});

describe("WASI self-test command (jco run)", () => {
  builtManifest();
  for (const [file, build] of [["qedge-selftest.component.wasm", "scalar"], ["qedge-selftest-simd.component.wasm", "simd"]]) {
    it(`${file}: exits 0 and says so`, () => {
      const out = execFileSync(JCO, ["run", join(DIST, file)], { encoding: "utf8" });
      expect(out.trim()).toBe(`qedge selftest (${build}): 10 operators match the reference outputs`);
    });
  }
  it("exits 1 and names the operator when an expected byte is wrong", () => {
    const bad = join(tmp, "bad-selftest.component.wasm");
    writeFileSync(bad, corrupted(new Uint8Array(readFileSync(join(DIST, "qedge-selftest.component.wasm")))));
    const r = spawnSync(JCO, ["run", bad], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/qedge selftest \(scalar\): FAILED check 10 of 10, CONV_2D 3x3 \(Winograd\): output byte 3 is -?\d+, expected -?\d+/);
  });
});
