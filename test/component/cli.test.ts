// qedge component info FILE [--json]: expected values come from the manifest the build wrote
// and from wit/kernels.wit (the functions the world declares).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { componentCommand } from "../../host/cli/component.js";
import { InvalidArgumentError } from "../../host/errors.js";
import { builtManifest, DIST, ROOT } from "./dist.js";

function capture() {
  const out: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a) => { out.push(a.join(" ")); });
  return out;
}
afterEach(() => vi.restoreAllMocks());

/** Function names declared in interface engine of wit/kernels.wit, with resource methods as [method]r.f. */
function witFunctions(): string[] {
  const wit = readFileSync(join(ROOT, "wit/kernels.wit"), "utf8");
  const out: string[] = [];
  let resource: string | null = null;
  for (const line of wit.split("\n")) {
    const r = /^\s*resource\s+([a-z-]+)\s*\{/.exec(line);
    if (r) { resource = r[1]; continue; }
    if (resource && /^\s*\}/.test(line)) { resource = null; continue; }
    const f = /^\s*([a-z][a-z0-9-]*)\s*:\s*func\b/.exec(line);
    if (f) out.push(resource ? `[method]${resource}.${f[1]}` : f[1]);
  }
  return out;
}

describe("qedge component info", () => {
  const manifest = builtManifest();

  it("--help prints the usage", async () => {
    const out = capture();
    expect(await componentCommand(["--help"])).toBe(0);
    expect(out.join("\n")).toMatch(/^usage: qedge component info FILE \[--json\]/);
  });

  for (const build of ["scalar", "simd", "relaxed"]) {
    it(`--json on kernels-${build}: world, exports, features and size as built`, async () => {
      const e = manifest.components.find((c) => c.file === `kernels-${build}.component.wasm`);
      const out = capture();
      expect(await componentCommand(["info", join(DIST, e.file), "--json"])).toBe(0);
      const info = JSON.parse(out.join("\n"));
      expect(info.size).toBe(e.size);
      expect(info.sha256).toBe(e.sha256);
      expect(info.features).toEqual(e.features);
      expect(info.imports).toEqual([]);
      expect(info.exports.map((x: { name: string }) => x.name)).toEqual(["qedge:kernels/engine@0.1.0"]);
      const fns = info.exports[0].functions.filter((f: string) => !f.startsWith("[dtor]")).sort();
      expect(fns).toEqual(witFunctions().sort());
      expect(info.manifest).toMatchObject({ world: "qedge:kernels/kernels@0.1.0", build, kind: "kernels", sha256Matches: true });
      expect(info.wit).toMatch(/export qedge:kernels\/engine@0\.1\.0;/);
    });
  }

  it("text report of the self-test command names its WASI world and imports", async () => {
    const out = capture();
    expect(await componentCommand(["info", join(DIST, "qedge-selftest.component.wasm")])).toBe(0);
    const text = out.join("\n");
    expect(text).toMatch(/^component\s+.*qedge-selftest\.component\.wasm$/m);
    expect(text).toMatch(/^world\s+wasi:cli\/command@0\.2\.\d+ \(selftest-command, scalar build; sha256 matches/m);
    expect(text).toMatch(/^imports\s+wasi:cli\/exit@/m);
    expect(text).toMatch(/^exports\s+wasi:cli\/run@/m);
    expect(text).toMatch(/^features\s+/m);
  });

  it("a core module, a non-wasm file or bad arguments are InvalidArgumentErrors", async () => {
    await expect(componentCommand(["info", join(DIST, "wasm", "kernels-scalar.wasm")])).rejects.toThrow(/core WebAssembly module, not a component/);
    await expect(componentCommand(["info", join(ROOT, "package.json")])).rejects.toThrow(InvalidArgumentError);
    await expect(componentCommand(["info"])).rejects.toThrow(/expected one FILE/);
    await expect(componentCommand(["show", "x"])).rejects.toThrow(/unknown subcommand 'show'/);
    await expect(componentCommand(["info", "x", "--bogus"])).rejects.toThrow(InvalidArgumentError);
  });
});
