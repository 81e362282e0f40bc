// The peer benchmark (npm run bench, through bench/run.mjs which sets Node flags and env):
// every model in ../shared/models against TFLite's WebAssembly build, and the models' conv / fc
// shapes plus synthetic int8 GEMMs against ONNX Runtime web + node and TFLite-wasm, all in one
// process and one run. Prints tables with ratios and verdicts; writes bench/results.json.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { measureInterleaved, errorText } from "./lib/measure.mjs";
import { createTfliteRunner } from "./lib/tflite-peer.mjs";
import { createOrtRunner, loadOrt } from "./lib/ort-peers.mjs";
import { gemmCase, opCasesFromGraph } from "./lib/op-cases.mjs";
import { measureCeilings } from "./lib/ceiling.mjs";
import {
  TARGETS, TFLM_ARENA_BYTES, arenaVerdict, formatTable, latencyVerdict, ms, ratio, speedupVerdict,
} from "./lib/report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const qedge = await import(join(ROOT, "dist/host/index.js"));
const cli = await import(join(ROOT, "dist/host/cli/bench.js"));
let writeModel = null;
try { ({ writeModel } = await import(join(ROOT, "dist/host/model/writer.js"))); } catch { /* writer not built yet */ }

const HELP = `usage: npm run bench -- [--quick] [--models-only | --ops-only] [--filter REGEX] [--out FILE]
                        [--budget-ms N]
  --quick        shorter timing budget and only the largest op shape per kind and model
  --filter RE    only models / op cases whose name matches RE
  --out FILE     results JSON (default bench/results.json)
  --budget-ms N  timed milliseconds per runner per case (default 400, quick 150)`;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean" }, "models-only": { type: "boolean" }, "ops-only": { type: "boolean" },
    filter: { type: "string" }, out: { type: "string" }, "budget-ms": { type: "string" }, help: { type: "boolean" },
  },
});
if (args.help) { console.log(HELP); process.exit(0); }
const QUICK = !!args.quick;
const budgetMs = args["budget-ms"] ? Number(args["budget-ms"]) : QUICK ? 150 : 400;
if (!(budgetMs > 0)) { console.error(`--budget-ms must be a positive number, got '${args["budget-ms"]}'`); process.exit(2); }
const MEASURE = { budgetMs, rounds: QUICK ? 3 : 5, minRuns: QUICK ? 10 : 25, maxRuns: 5000, warmupMs: QUICK ? 40 : 120 };
const filter = args.filter ? new RegExp(args.filter) : null;
const SHARED = process.env.QEDGE_SHARED ?? resolve(ROOT, "..", "shared");
const MODELS_DIR = join(SHARED, "models");
const BUILDS = qedge.supportedBuilds();
const AUTO = qedge.chooseBuild("auto");

const log = (s) => process.stderr.write(`${s}\n`);

function tfliteFiles() {
  if (!existsSync(MODELS_DIR)) return [];
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".tflite")) out.push(p);
    }
  };
  walk(MODELS_DIR);
  // MLPerf Tiny first: the models with targets.
  return out.sort((a, b) => Number(!a.includes("mlperf-tiny")) - Number(!b.includes("mlperf-tiny")) || a.localeCompare(b));
}

const modelKey = (p) => relative(MODELS_DIR, p).replace(/\.tflite$/, "");
const stats = (samples) => { const s = cli.summarize(samples); return { median_ms: s.median, p10_ms: s.p10, p90_ms: s.p90, runs: s.n }; };
const u8 = (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** Same bytes for every runtime: typed per input like `qedge bench` does. */
function inputsFor(types, sizes) {
  return cli.inputBytesFor({ inputs: sizes.map((n, i) => ({ byteLength: n, typeName: types[i], shape: [] })) }, null);
}

/** Load a qedge model on one build; times load and first invoke. */
async function qedgeRunner(bytes, build, label, extra = {}) {
  const t0 = performance.now();
  const model = await qedge.loadModel(bytes, { kernels: build, ...extra });
  const loadMs = performance.now() - t0;
  return { model, loadMs, label };
}

function maxAbsDiff(a, b, signedA, signedB) {
  if (!a || !b || a.length !== b.length) return null;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = signedA ? (a[i] << 24) >> 24 : a[i];
    const y = signedB ? (b[i] << 24) >> 24 : b[i];
    m = Math.max(m, Math.abs(x - y));
  }
  return m;
}

// ---------------------------------------------------------------- whole models vs TFLite-wasm

async function benchModelFile(path) {
  const key = modelKey(path);
  const bytes = new Uint8Array(readFileSync(path));
  const row = { model: key, bytes: bytes.byteLength, qedge: {}, tflite: {} };
  const runners = [];
  const live = [];
  // Peers first: their input types tell us how to fill the inputs if qedge cannot load the model.
  let types = null, sizes = null;
  for (const variant of ["simd", "scalar"]) {
    try {
      const t0 = performance.now();
      const r = await createTfliteRunner(variant, bytes);
      row.tflite[variant] = { load_ms: performance.now() - t0 };
      types ??= r.inputTypes;
      sizes ??= Array.from({ length: r.inputCount }, (_, i) => r.input(i).byteLength);
      live.push({ kind: "tflite", variant, r });
    } catch (e) {
      row.tflite[variant] = { error: errorText(e) };
    }
  }
  for (const build of BUILDS) {
    try {
      const q = await qedgeRunner(bytes, build);
      types = q.model.inputs.map((t) => t.typeName);
      sizes = q.model.inputs.map((t) => t.byteLength);
      row.qedge[build] = { load_ms: q.loadMs, ...memoryOf(q.model) };
      live.push({ kind: "qedge", variant: build, r: q.model });
    } catch (e) {
      row.qedge[build] = { error: `unsupported: ${errorText(e)}` };
    }
  }
  if (!sizes) return row;
  const data = inputsFor(types, sizes);
  for (const l of live) {
    const views = data.map((_, i) => (l.kind === "qedge" ? u8(l.r.input(i)) : l.r.input(i)));
    const fill = () => views.forEach((v, i) => v.set(data[i]));
    const slot = l.kind === "qedge" ? row.qedge[l.variant] : row.tflite[l.variant];
    try {
      fill();
      const t0 = performance.now();
      l.r.invoke();
      slot.first_invoke_ms = performance.now() - t0;
      l.out = Uint8Array.from(l.kind === "qedge" ? u8(l.r.output(0)) : l.r.output(0));
      runners.push({ id: `${l.kind}:${l.variant}`, call: () => l.r.invoke(), prepare: fill });
    } catch (e) {
      Object.assign(slot, { error: `${l.kind === "qedge" ? "unsupported: " : ""}${errorText(e)}` });
    }
  }
  const results = await measureInterleaved(runners, MEASURE);
  for (const [id, res] of results) {
    const [kind, variant] = id.split(":");
    const slot = kind === "qedge" ? row.qedge[variant] : row.tflite[variant];
    if ("error" in res) slot.error = `${kind === "qedge" ? "unsupported: " : ""}${res.error}`;
    else Object.assign(slot, stats(res.samples));
  }
  // Sanity check: same input, how far apart are the outputs (TFLite-wasm is a peer, not an oracle).
  const qa = live.find((l) => l.kind === "qedge" && l.variant === AUTO && l.out);
  const ta = live.find((l) => l.kind === "tflite" && l.variant === "simd" && l.out);
  if (qa && ta && qa.r.outputs[0].typeName === "int8") row.max_abs_diff_vs_tflite = maxAbsDiff(qa.out, ta.out, true, true);
  for (const l of live) if (l.kind === "tflite") l.r.dispose();
  return judgeModel(row);
}

function memoryOf(m) {
  return { arena_bytes: m.memory.arenaBytes, weight_bytes: m.memory.weightBytes, wasm_memory_bytes: m.memory.wasmMemoryBytes };
}

function judgeModel(row) {
  const ours = row.qedge[AUTO];
  const peer = row.tflite.simd;
  row.qedge_build = AUTO;
  const hasTarget = row.model.startsWith("mlperf-tiny/");
  const lat = latencyVerdict(ours?.median_ms, peer?.median_ms);
  row.latency_ratio_vs_tflite = lat.ratio;
  row.latency_target = hasTarget ? TARGETS.modelLatencyRatio : null;
  row.latency_met = hasTarget ? lat.met : null;
  row.latency_verdict = !ours?.median_ms ? (ours?.error?.startsWith("unsupported") ? "qedge unsupported (below)" : "qedge failed (below)")
    : !peer?.median_ms ? "peer did not run (below)" : hasTarget ? lat.verdict : `info (no target): ${ratio(lat.ratio)}`;
  row.scalar_ratio_vs_tflite_scalar = latencyVerdict(row.qedge.scalar?.median_ms, row.tflite.scalar?.median_ms).ratio;
  const tflm = TFLM_ARENA_BYTES[row.model] ?? null;
  const ar = arenaVerdict(ours?.arena_bytes, tflm);
  Object.assign(row, { tflm_arena_bytes: tflm, arena_ratio_vs_tflm: ar.ratio, arena_met: ar.met, arena_verdict: ours?.arena_bytes === undefined ? "n/a" : ar.verdict });
  return row;
}

// ---------------------------------------------------------------- GEMM / conv shapes vs ONNX Runtime

function collectOpCases() {
  const byId = new Map();
  const add = (c) => { if (!byId.has(c.id)) byId.set(c.id, c); else for (const s of c.sources) byId.get(c.id).sources.add(s); };
  const bytes = (n, seed) => cli.deterministicBytes(n, seed);
  add(gemmCase(256, 256, 256, bytes));
  if (!QUICK) add(gemmCase(1, 1024, 1024, bytes));
  for (const path of tfliteFiles().filter((p) => p.includes("mlperf-tiny"))) {
    let graph;
    try { graph = qedge.parseModel(new Uint8Array(readFileSync(path))); } catch (e) {
      log(`  shapes of ${modelKey(path)}: cannot parse (${errorText(e)})`);
      continue;
    }
    let cases = opCasesFromGraph(graph, modelKey(path));
    if (QUICK) {
      // the largest shape of each kind per model
      const best = new Map();
      for (const c of cases) if (!best.has(c.kind) || best.get(c.kind).macs < c.macs) best.set(c.kind, c);
      cases = [...best.values()];
    }
    cases.forEach(add);
  }
  return [...byId.values()].filter((c) => !filter || filter.test(c.id) || [...c.sources].some((s) => filter.test(s)));
}

async function benchOpCase(c) {
  const row = { id: c.id, kind: c.kind, shape: c.shape, macs: c.macs, sources: [...c.sources], qedge: {}, tflite: {}, ort_web: {}, ort_node: {} };
  // GEMMs also run without Strassen (the plain pair layout), in the same rounds, to show its share.
  if (c.kind === "gemm") row.qedge_no_strassen = {};
  const runners = [];
  const input = cli.deterministicBytes(c.desc.tensors[0].shape.reduce((a, b) => a * b, 1), cli.DEFAULT_SEED);
  const inputU8 = input.map((v) => v ^ 0x80); // the same real values as uint8 with zero point + 128
  const outs = {};
  let tfl = null;
  if (!writeModel) {
    row.qedge.error = "unsupported: host/model/writer.ts not built (cannot make single-op models)";
  } else {
    let bytes;
    try { bytes = writeModel(c.desc); } catch (e) { row.qedge.error = `unsupported: writeModel: ${errorText(e)}`; }
    if (bytes) {
      for (const build of BUILDS) {
        try {
          const { model, loadMs } = await qedgeRunner(bytes, build);
          const view = u8(model.input(0));
          const fill = () => view.set(input);
          fill(); model.invoke();
          outs[`qedge:${build}`] = Uint8Array.from(u8(model.output(0)));
          row.qedge[build] = { load_ms: loadMs, arena_bytes: model.memory.arenaBytes, weight_bytes: model.memory.weightBytes };
          runners.push({ id: `qedge:${build}`, call: () => model.invoke(), prepare: fill });
        } catch (e) {
          row.qedge[build] = { error: `unsupported: ${errorText(e)}` };
        }
      }
      if (row.qedge_no_strassen) {
        try {
          const { model } = await qedgeRunner(bytes, AUTO, undefined, { strassen: false });
          // Shapes Strassen does not take (e.g. one row) load the same program: nothing to compare.
          if (model.memory.weightBytes === row.qedge[AUTO]?.weight_bytes) delete row.qedge_no_strassen;
          else {
            const view = u8(model.input(0));
            const fill = () => view.set(input);
            runners.push({ id: `qedge_no_strassen:${AUTO}`, call: () => model.invoke(), prepare: fill });
          }
        } catch (e) {
          row.qedge_no_strassen[AUTO] = { error: errorText(e) };
        }
      }
      try {
        tfl = await createTfliteRunner("simd", bytes);
        const view = tfl.input(0);
        const fill = () => view.set(input);
        fill(); tfl.invoke();
        outs["tflite:simd"] = Uint8Array.from(tfl.output(0));
        runners.push({ id: "tflite:simd", call: () => tfl.invoke(), prepare: fill });
        row.tflite.simd = {};
      } catch (e) {
        row.tflite.simd = { error: errorText(e) };
      }
    }
  }
  for (const g of c.onnx()) {
    for (const kind of ["web", "node"]) {
      const slot = kind === "web" ? row.ort_web : row.ort_node;
      try {
        const r = await createOrtRunner(kind, g.bytes, g.inputName, g.inputDims);
        r.input.set(inputU8);
        await r.run();
        if (g.name !== "MatMulInteger") outs[`ort_${kind}:${g.name}`] = Uint8Array.from(u8(r.output()));
        slot[g.name] = {};
        runners.push({ id: `ort_${kind}:${g.name}`, call: () => r.run(), dispose: () => r.dispose() });
      } catch (e) {
        slot[g.name] = { error: errorText(e) };
      }
    }
  }
  const results = await measureInterleaved(runners, MEASURE);
  for (const [id, res] of results) {
    const [group, variant] = id.split(":");
    const slot = (row[group][variant] ??= {});
    if ("error" in res) slot.error = `${group === "qedge" ? "unsupported: " : ""}${res.error}`;
    else Object.assign(slot, stats(res.samples), { gops: (2 * c.macs) / (cli.summarize(res.samples).median * 1e6) });
  }
  for (const r of runners) await r.dispose?.();
  tfl?.dispose();
  // Sanity checks on the same input. TFLite-wasm runs the identical .tflite (XNNPACK requantizes
  // in float: a few LSB). ORT only for convolutions: its MatMul graphs carry no bias, and a fused
  // RELU whose zero point is not -128 is not modelled.
  const q = outs[`qedge:${AUTO}`];
  if (q && outs["tflite:simd"]) row.max_abs_diff_vs_tflite = maxAbsDiff(q, outs["tflite:simd"], true, true);
  const o = outs["ort_web:QLinearConv"];
  if (q && o) row.max_abs_diff_vs_ort = maxAbsDiff(q, o.map((v) => v ^ 0x80), true, true);
  return judgeOp(row);
}

const fastest = (group) => Object.values(group).filter((s) => s?.median_ms > 0).sort((a, b) => a.median_ms - b.median_ms)[0] ?? null;

function judgeOp(row) {
  const ours = row.qedge[AUTO];
  const web = fastest(row.ort_web);
  // Targets cover GEMM 256x256x256 and the models' convolutions; other FC / GEMV shapes are info.
  const hasTarget = row.kind === "conv" || row.kind === "dwconv" || row.id === "gemm 256x256x256";
  const v = speedupVerdict(ours?.median_ms, web?.median_ms);
  row.qedge_build = AUTO;
  row.speedup_vs_ort_web = v.ratio;
  row.speedup_vs_ort_node = speedupVerdict(ours?.median_ms, fastest(row.ort_node)?.median_ms).ratio;
  row.speedup_vs_tflite = speedupVerdict(ours?.median_ms, row.tflite.simd?.median_ms).ratio;
  row.target = hasTarget ? TARGETS.opSpeedup : null;
  row.met = row.target ? v.met : null;
  row.verdict = !ours?.median_ms ? ((ours?.error ?? row.qedge.error ?? "").startsWith("unsupported") ? "qedge unsupported (below)" : "qedge failed (below)")
    : !web ? "ORT-web did not run" : row.target ? v.verdict : `info (no target): ${ratio(v.ratio)}`;
  return row;
}

// ---------------------------------------------------------------- tables

function modelTable(rows) {
  const h = ["model", `qedge ${AUTO}`, "qedge simd", "qedge scalar", "tflite simd", "tflite scalar",
    "ours/tflite", "verdict (<=0.8x)", "scalar/tflite-scalar", "arena B", "TFLM arena B", "arena verdict", "diff vs tflite"];
  return formatTable(h, rows.map((r) => [
    r.model, cell(r.qedge[AUTO]), AUTO === "simd" ? "" : cell(r.qedge.simd), cell(r.qedge.scalar),
    cell(r.tflite.simd), cell(r.tflite.scalar), ratio(r.latency_ratio_vs_tflite), r.latency_verdict,
    ratio(r.scalar_ratio_vs_tflite_scalar), r.qedge[AUTO]?.arena_bytes ?? "-", r.tflm_arena_bytes ?? "-",
    r.arena_verdict, r.max_abs_diff_vs_tflite ?? "-",
  ]));
}

function opTable(rows) {
  const h = ["case", "MMAC", `qedge ${AUTO} ms`, "qedge simd", "qedge scalar", "ort-web ms", "ort-node ms", "tflite ms",
    "GOPS", "ort-web/ours", "verdict (>=1.2x)", "ort-node/ours", "tflite/ours", "diff vs tflite"];
  return formatTable(h, rows.map((r) => [
    r.id, (r.macs / 1e6).toFixed(2), cell(r.qedge[AUTO]), AUTO === "simd" ? "" : cell(r.qedge.simd), cell(r.qedge.scalar),
    ms(fastest(r.ort_web)?.median_ms), ms(fastest(r.ort_node)?.median_ms), cell(r.tflite.simd),
    r.qedge[AUTO]?.gops?.toFixed(1) ?? "-", ratio(r.speedup_vs_ort_web), r.verdict,
    ratio(r.speedup_vs_ort_node), ratio(r.speedup_vs_tflite), r.max_abs_diff_vs_tflite ?? "-",
  ]));
}

function cell(s) {
  if (!s) return "-";
  if (s.error) return s.error.startsWith("unsupported") ? "unsupported" : "error";
  return ms(s.median_ms);
}

/** "name [group a, b]: message" lines, merging the variants of one group that failed alike. */
function errorsOf(rows, name) {
  const lines = [];
  for (const r of rows) {
    for (const group of ["qedge", "tflite", "ort_web", "ort_node"]) {
      const byMsg = new Map();
      for (const [k, s] of Object.entries(r[group] ?? {})) {
        const msg = k === "error" ? s : s?.error;
        if (typeof msg === "string") byMsg.set(msg, [...(byMsg.get(msg) ?? []), k === "error" ? "" : k]);
      }
      for (const [msg, ks] of byMsg) lines.push(`  ${r[name]} [${[group.replace("_", "-"), ks.filter(Boolean).join(", ")].filter(Boolean).join(" ")}]: ${msg}`);
    }
  }
  return lines;
}

// ---------------------------------------------------------------- main

const started = performance.now();
const results = {
  meta: {
    date: new Date().toISOString(), node: process.version, exec_argv: process.execArgv,
    malloc_env: { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? null },
    cpu: cpus()[0]?.model, cores: cpus().length, load_average_at_start: loadavg(), quick: QUICK, measure: MEASURE, qedge_builds: BUILDS, qedge_auto: AUTO,
    threads: 1, statistic: "median of per-call wall time (performance.now), rounds interleaved across runners",
    peers: { tflite_wasm: "@tensorflow/tfjs-tflite 0.0.1-alpha.10 (XNNPACK)", ort_web: "onnxruntime-web 1.30.0 (wasm SIMD)", ort_node: "onnxruntime-node 1.30.0 (MLAS)" },
    targets: TARGETS,
  },
  models: [],
  ops: [],
};
log(`qedge bench: node ${process.version} ${process.execArgv.join(" ")}; builds ${BUILDS.join(", ")} (auto = ${AUTO}); ${QUICK ? "quick" : "full"}; budget ${budgetMs} ms per runner per case`);
if (!existsSync(MODELS_DIR)) log(`no models at ${MODELS_DIR} (set QEDGE_SHARED): only synthetic GEMM shapes`);

if (!args["ops-only"]) {
  const files = tfliteFiles().filter((p) => !filter || filter.test(modelKey(p)));
  for (const p of files) {
    log(`  model ${modelKey(p)} ...`);
    results.models.push(await benchModelFile(p));
  }
}
if (!args["models-only"]) {
  log("  machine ceilings (bench/wasm/ceiling.ts) ...");
  results.meta.ceilings = measureCeilings();
  await loadOrt();
  const cases = collectOpCases();
  for (const c of cases) {
    log(`  op ${c.id} ...`);
    results.ops.push(await benchOpCase(c));
  }
}
results.meta.wall_s = (performance.now() - started) / 1000;
results.meta.load_average_at_end = loadavg();

const outPath = args.out ?? join(HERE, "results.json");
writeFileSync(outPath, `${JSON.stringify(results, null, 1)}\n`);

const summary = [];
if (results.models.length) {
  summary.push("Whole models: latency median (ms), one thread; ours/tflite = qedge / TFLite-wasm (SIMD, XNNPACK)", modelTable(results.models), "");
}
if (results.ops.length) {
  summary.push("Single ops: median (ms); ratios are peer time / qedge time (throughput, higher is better for qedge)", opTable(results.ops), "");
}
const errs = [...errorsOf(results.models, "model"), ...errorsOf(results.ops, "id")];
if (errs.length) summary.push("Not run / unsupported:", ...errs, "");
const count = (rows, key) => {
  const judged = rows.filter((r) => r[key] !== null && r[key] !== undefined);
  return `${judged.filter((r) => r[key]).length}/${judged.length} met`;
};
summary.push(`Targets: model latency <= 0.8x TFLite-wasm: ${count(results.models, "latency_met")}; ` +
  `arena <= TFLM: ${count(results.models, "arena_met")}; GEMM/conv >= 1.2x ORT-web: ${count(results.ops, "met")}`);
const ceil = results.meta.ceilings;
if (ceil && !ceil.error) {
  summary.push(`This machine, this run (GMAC/s of i32x4.dot_i16x8_s, one core): peak ${ceil.peak_gmacs.toFixed(1)}; ` +
    `qedge's 4x8 register tile with data in L1: ${ceil.tile_gmacs.toFixed(1)} (int16 weights), ${ceil.tile8_gmacs.toFixed(1)} ` +
    `(int8 weights widened on load); a 6x8 tile: ${ceil.tile12_gmacs.toFixed(1)} (V8 spills its twelve accumulators)`);
} else if (ceil) summary.push(`Machine ceilings not measured: ${ceil.error}`);
for (const r of results.ops) {
  const plain = r.qedge_no_strassen?.[AUTO], web = fastest(r.ort_web ?? {});
  if (plain?.median_ms && r.qedge?.[AUTO]?.median_ms && web) {
    summary.push(`${r.id}: with Strassen ${r.qedge[AUTO].median_ms.toPrecision(3)} ms, without (the plain pair layout, same rounds) ` +
      `${plain.median_ms.toPrecision(3)} ms: ${ratio(web.median_ms / r.qedge[AUTO].median_ms)} vs ${ratio(web.median_ms / plain.median_ms)} ORT-web's throughput`);
  }
}
const missed = [...results.models.filter((r) => r.latency_met === false), ...results.ops.filter((r) => r.met === false)];
if (missed.length) {
  // The reasons were measured, not guessed: bench/README.md, "where the time goes".
  const why = [];
  for (const r of missed) {
    const gops = r.qedge?.[AUTO]?.gops;
    if (gops && ceil && !ceil.error) {
      why.push(`${r.id}: qedge runs at ${(gops / 2).toFixed(1)} GMAC/s (counting the direct sum's MACs), ` +
        `${((50 * gops) / ceil.tile_gmacs).toFixed(0)}% of the register-tile loop alone in this run`);
    } else if (r.model) {
      why.push(`${r.model}: bit-exact TFLite Micro requantization costs a per-lane check that XNNPACK's float ` +
        "requantization does not pay; the depthwise layers need pair shuffles the GEMM loops do not");
    }
  }
  summary.push("Why targets are missed (measured; bench/README.md, \"Where qedge stands, and where the time goes\"):", ...why.map((w) => `  ${w}`));
}
summary.push(`Wrote ${relative(process.cwd(), outPath)} in ${results.meta.wall_s.toFixed(0)} s ` +
  `(load average ${results.meta.load_average_at_start[0].toFixed(1)} -> ${results.meta.load_average_at_end[0].toFixed(1)} on ${results.meta.cores} cores)`);
console.log(summary.join("\n"));
