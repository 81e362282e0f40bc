#!/usr/bin/env node
// The emulated test run: ONE Node process per architecture runs this file (spawned children
// would need binfmt under QEMU). The host runs it first to produce the expected kernel outputs;
// each emulated run then compares bit for bit.
//   node test/qemu/checks.mjs --job JOB.json --out RESULT.json [--expect HOST_RESULT.json]
// JOB: { distDir, cases: [{ name, model, input, golden, batch }] }
// It checks: (1) which kernel build "auto" picks, (2) that the kernel module's memory has a
// declared maximum the engine enforces, (3) every fixed kernel case on every build this engine
// validates, against the host's bytes, (4) every golden case through the public API.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { KERNEL_CASES, runKernelCase } from "./kernel-cases.mjs";

const t0 = performance.now();
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const job = JSON.parse(readFileSync(opt("--job"), "utf8"));
const outFile = opt("--out");
const expectFile = opt("--expect");
const expected = expectFile ? JSON.parse(readFileSync(expectFile, "utf8")) : null;
const tag = `[${process.arch}]`;
const say = (line) => process.stderr.write(`${tag} ${line}\n`);

const dist = (p) => import(pathToFileURL(join(job.distDir, p)).href);
const api = await dist("host/index.js");
const { createModel } = await dist("host/runtime/model.js");
const wasm = await dist("host/wasm/kernels.js");

// A one-instruction v128 module: the same probe the runtime relies on, shown for the record.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 22, 1, 20, 0, 253, 12, ...new Array(16).fill(0), 11]);

/** Declared maximum (pages) of the memory a module defines, read from its memory section. */
function declaredMaxPages(bytes) {
  let p = 8;
  const leb = () => { let r = 0, s = 0, b; do { b = bytes[p++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80); return r >>> 0; };
  while (p < bytes.length) {
    const id = bytes[p++], size = leb(), end = p + size;
    if (id === 5) {
      leb(); // count
      const flags = leb();
      leb(); // initial
      return flags & 1 ? leb() : null;
    }
    p = end;
  }
  return null;
}

function int8File(path) {
  const b = readFileSync(path);
  return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
}

const result = {
  arch: process.arch, node: process.version,
  simdValidates: WebAssembly.validate(SIMD_PROBE),
  supported: wasm.supportedBuilds(),
  detected: null, memory: null, kernel: null, golden: null, seconds: 0, error: null,
};

try {
  result.detected = wasm.chooseBuild("auto");

  // Memory: the module must declare a maximum and the engine must refuse to grow past it.
  const maxPages = declaredMaxPages(wasm.kernelBytes(result.detected));
  let enforced = false;
  if (maxPages !== null) {
    const k = wasm.instantiateKernels(result.detected);
    const have = k.memory.buffer.byteLength / 65536;
    try { k.memory.grow(maxPages - have + 1); } catch { enforced = true; }
  }
  result.memory = { maxPages, enforced };
  say(`auto -> ${result.detected} (validates: ${result.supported.join(", ")}); memory max ${maxPages} pages${enforced ? ", enforced" : ", NOT enforced"}`);

  // Kernel cases on every build this engine runs.
  const tk = performance.now();
  const runs = {};
  for (const build of result.supported) {
    runs[build] = {};
    for (const c of KERNEL_CASES) runs[build][c.name] = runKernelCase(c, build, createModel, api.UnsupportedModelError);
  }
  const kernel = { runs, passed: 0, failed: 0, unsupported: 0, failures: [], seconds: 0 };
  for (const build of result.supported) {
    for (const c of KERNEL_CASES) {
      const mine = runs[build][c.name];
      const fail = (why) => { kernel.failed++; kernel.failures.push(`${build} ${c.name}: ${why}`); };
      if (mine.status === "unsupported") { kernel.unsupported++; continue; }
      if (mine.status === "error") { fail(mine.detail); continue; }
      // Every build must give the scalar build's bytes (same engine).
      const scalar = runs.scalar?.[c.name];
      if (build !== "scalar" && scalar?.status === "ok" && scalar.output !== mine.output) { fail("differs from the scalar build"); continue; }
      if (expected) {
        const host = expected.kernel?.runs?.[build]?.[c.name];
        if (!host) { kernel.unsupported++; continue; }
        if (host.status !== "ok") { fail(`host ${host.status} but here ok`); continue; }
        if (host.output !== mine.output) { fail(`differs from the host (${expected.arch}) bytes`); continue; }
      }
      kernel.passed++;
    }
  }
  kernel.seconds = (performance.now() - tk) / 1000;
  result.kernel = kernel;
  say(`kernel cases: ${kernel.passed} passed, ${kernel.failed} failed, ${kernel.unsupported} not run by the runtime yet (${kernel.seconds.toFixed(1)} s)`);
  for (const f of kernel.failures.slice(0, 10)) say(`  FAIL ${f}`);

  // Golden cases through the public API, kernels chosen by detection.
  const golden = { cases: [], passed: 0, failed: 0, build: null };
  const models = new Map();
  for (const c of job.cases) {
    const tc = performance.now();
    let ok = false, detail = "";
    try {
      let m = models.get(c.model);
      if (!m) {
        m = await api.loadModel(new Uint8Array(readFileSync(c.model)), { kernels: "auto" });
        models.set(c.model, m);
      }
      golden.build = m.kernels;
      const input = int8File(c.input);
      const want = int8File(c.golden);
      const inN = m.input(0).length, outN = m.output(0).length;
      if (input.length !== inN * c.batch || want.length !== outN * c.batch) {
        throw new Error(`sizes: input ${input.length} for ${c.batch} x ${inN}, golden ${want.length} for ${c.batch} x ${outN}`);
      }
      const bad = [];
      for (let r = 0; r < c.batch; r++) {
        m.reset();
        m.input(0).set(input.subarray(r * inN, (r + 1) * inN));
        m.invoke();
        const got = m.output(0), w = want.subarray(r * outN, (r + 1) * outN);
        let diff = -1, count = 0;
        for (let i = 0; i < outN; i++) if (got[i] !== w[i]) { if (diff < 0) diff = i; count++; }
        if (count) bad.push(`row ${r}: ${count} of ${outN} bytes differ (first at ${diff}: got ${got[diff]}, want ${w[diff]})`);
      }
      ok = bad.length === 0;
      detail = bad.slice(0, 3).join("; ") + (bad.length > 3 ? `; ... ${bad.length} rows` : "");
    } catch (e) {
      detail = `${e?.name ?? "Error"}: ${e?.message ?? e}`;
    }
    const seconds = (performance.now() - tc) / 1000;
    golden.cases.push({ name: c.name, ok, detail, batch: c.batch, seconds });
    if (ok) golden.passed++; else golden.failed++;
    say(`golden ${c.name}${c.batch > 1 ? ` (${c.batch} rows)` : ""}: ${ok ? "ok" : `FAIL ${detail}`} (${seconds.toFixed(1)} s)`);
  }
  result.golden = golden;
} catch (e) {
  result.error = e?.stack ?? String(e);
  say(`ERROR ${result.error}`);
}
result.seconds = (performance.now() - t0) / 1000;
writeFileSync(outFile, JSON.stringify(result));
