// `qedge run` / `qedge inspect` as a user runs them: the built CLI in a child process.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHARED, NO_SHARED } from "../helpers/shared.js";
import { goldenCases } from "../helpers/golden.js";
import { tinyFcGraph } from "../helpers/tflite-builder.js";
import { gemmExpected, gemmInput, gemmModel } from "../helpers/gemm-model.js";
import { loadModelSync } from "../../host/index.js";

const CLI = join(process.cwd(), "dist", "host", "cli", "main.js");
const qedge = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const tmp = mkdtempSync(join(tmpdir(), "qedge-cli-"));

describe("qedge CLI", () => {
  it("is built (npm install / npm run build)", () => {
    expect(existsSync(CLI)).toBe(true);
  });

  it("--help on every command exits 0 and prints usage", () => {
    const top = qedge("--help");
    expect(top.status).toBe(0);
    for (const cmd of ["run", "inspect"]) {
      const r = qedge(cmd, "--help");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`usage: qedge ${cmd}`));
    }
  });

  it("run: a GEMM-shaped layer with and without --no-strassen gives the reference's bytes", () => {
    const model = join(tmp, "gemm.tflite");
    writeFileSync(model, gemmModel());
    const x = join(tmp, "gemm-x.bin");
    writeFileSync(x, gemmInput);
    const want = Buffer.from(gemmExpected().buffer);
    for (const extra of [[], ["--no-strassen"]]) {
      const y = join(tmp, `gemm-y${extra.length}.bin`);
      const r = qedge("run", model, "--input", x, "--output", y, "--quiet", ...extra);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(y).equals(want), extra.join(" ") || "default").toBe(true);
    }
  });

  it("run: a self-built model, raw bytes in and out, equal to the library's result", () => {
    const model = join(tmp, "fc.tflite");
    writeFileSync(model, tinyFcGraph().build());
    const x = join(tmp, "x.bin"), y = join(tmp, "y.bin");
    writeFileSync(x, Int8Array.of(10, -20, 30, -40));
    const r = qedge("run", model, "--input", x, "--output", y, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const m = loadModelSync(readFileSync(model));
    m.input(0).set(Int8Array.of(10, -20, 30, -40));
    m.invoke();
    expect(Array.from(new Int8Array(readFileSync(y)))).toEqual(Array.from(m.output(0)));
  });

  it("bad input gives exit 1 and a one-line error, never a stack trace", () => {
    const model = join(tmp, "fc2.tflite");
    writeFileSync(model, tinyFcGraph().build());
    const good = join(tmp, "g.bin");
    writeFileSync(good, Int8Array.of(1, 2, 3, 4));
    const junk = join(tmp, "junk.tflite");
    writeFileSync(junk, Buffer.from("this is not a flatbuffer at all, just text"));
    const short = join(tmp, "short.bin");
    writeFileSync(short, Int8Array.of(1, 2, 3));
    const cases: [string[], RegExp][] = [
      [["run", junk, "--input", good, "--output", join(tmp, "o")], /ModelFormatError/],
      [["run", join(tmp, "missing.tflite"), "--input", good, "--output", join(tmp, "o")], /ENOENT|no such file/],
      [["run", model, "--input", short, "--output", join(tmp, "o")], /InvalidArgumentError: .*not a whole number/],
      [["run", model, "--input", good, "--output", join(tmp, "o"), "--kernels", "mmx"], /unknown kernel build/],
      [["run", model], /at least one --input/],
      [["inspect", junk], /ModelFormatError/],
    ];
    for (const [args, re] of cases) {
      const r = qedge(...args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n").length, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe.skipIf(!SHARED)(`qedge run reproduces the TFLM goldens${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  for (const [kernels, extra] of [["scalar"], ["simd"], ["relaxed"], ["auto"], ["simd", "--no-winograd"]] as [string, string?][]) {
    it(`--kernels ${kernels}${extra ? ` ${extra}` : ""}: every golden case byte for byte`, () => {
      const bad: string[] = [];
      for (const c of goldenCases()) {
        const out = join(tmp, `${kernels}${extra ?? ""}-${c.name.replace(/\//g, "_")}.out`);
        const r = qedge("run", c.modelPath, "--input", c.inputPath, "--output", out, "--kernels", kernels, "--quiet", ...(extra ? [extra] : []));
        if (r.status !== 0) { bad.push(`${c.name}: exit ${r.status}: ${r.stderr.trim()}`); continue; }
        if (!readFileSync(out).equals(readFileSync(c.goldenPath))) bad.push(`${c.name}: output differs`);
      }
      expect(bad).toEqual([]);
    });
  }
});
