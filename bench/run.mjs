#!/usr/bin/env node
// `npm run bench`: install the peers into bench/node_modules if missing, rebuild qedge if its
// sources are newer than dist/, then run bench/suite.mjs in a child Node with the same flags and
// allocator settings for qedge and every peer:
//   --no-liftoff                        V8's baseline tier otherwise stalls early calls (peers.md)
//   --experimental-wasm-relaxed-simd    Node 20 runs qedge's relaxed build only with it
//   MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_  fresh output buffers page-fault on this VM
// Arguments go to the suite (--quick, --filter RE, --models-only, --ops-only, --out FILE).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const args = process.argv.slice(2);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd, argv, opts) {
  const r = spawnSync(cmd, argv, { stdio: "inherit", ...opts });
  if (r.status !== 0) {
    console.error(`bench: '${cmd} ${argv.join(" ")}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

// 1. Peers: their own package, never qedge's dependencies.
const peersInstalled = ["@tensorflow/tfjs-tflite", "onnxruntime-web", "onnxruntime-node"]
  .every((p) => existsSync(join(HERE, "node_modules", p, "package.json")));
if (!peersInstalled) {
  console.error("bench: installing the peers into bench/node_modules (npm ci)");
  // onnxruntime-node's install step would fetch CUDA binaries; its CPU binary ships in the package.
  run(npm, ["ci", "--no-audit", "--no-fund"], { cwd: HERE, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" } });
}

// 2. qedge itself: the suite imports dist/; rebuild when a source is newer than the build.
function newest(dir, exts) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}
const built = ["dist/host/index.js", "dist/host/cli/bench.js", "dist/wasm/kernels-scalar.wasm", "dist/wasm/kernels-simd.wasm", "dist/wasm/kernels-relaxed.wasm"]
  .map((f) => join(ROOT, f));
const oldestBuilt = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
const newestSource = Math.max(newest(join(ROOT, "host"), [".ts"]), newest(join(ROOT, "assembly"), [".ts"]));
if (args.includes("--no-build")) {
  args.splice(args.indexOf("--no-build"), 1);
} else if (oldestBuilt < newestSource) {
  console.error("bench: dist/ is missing or older than the sources: npm run build");
  run(npm, ["run", "build"], { cwd: ROOT });
}

// 3. The suite, with the same flags and allocator settings for everyone.
const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: "67108864", MALLOC_TRIM_THRESHOLD_: "268435456" };
const flags = ["--no-liftoff", "--experimental-wasm-relaxed-simd", "--max-old-space-size=2048"];
const r = spawnSync(process.execPath, [...flags, join(HERE, "suite.mjs"), ...args], { stdio: "inherit", env, cwd: ROOT });
process.exit(r.status ?? 1);
