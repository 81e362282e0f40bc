#!/usr/bin/env node
// The project's test command: runs vitest, then prints the plain closing line CI reads:
// "N passed, N failed, N skipped". Extra arguments go to vitest (e.g. a file filter).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

// Rebuild first when the sources are newer than the build (the CLI tests run dist/).
function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const built = ["dist/host/index.js", "dist/wasm/kernels-scalar.wasm"].map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0));
if (Math.max(newest("assembly"), newest("host"), statSync("asconfig.json").mtimeMs) > Math.min(...built)) {
  console.log("sources changed since the last build: npm run build");
  const b = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
  if (b.status !== 0) { console.log("\n0 passed, 1 failed, 0 skipped"); process.exit(1); }
}

const outDir = "test-results";
mkdirSync(outDir, { recursive: true });
const report = join(outDir, "vitest.json");
if (existsSync(report)) rmSync(report);
const vitest = join("node_modules", "vitest", "vitest.mjs");
const res = spawnSync(process.execPath,
  [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: "inherit" });
let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed = j.numPassedTests ?? 0;
  // Failed tests, plus test files that failed before running any test (e.g. an import error).
  failed = (j.numFailedTests ?? 0) +
    (j.testResults ?? []).filter((r) => r.status === "failed" && !r.assertionResults?.some((a) => a.status === "failed")).length;
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
} else {
  failed = 1;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(res.status === 0 && failed === 0 ? 0 : 1);
