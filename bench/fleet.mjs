#!/usr/bin/env node
// `npm run bench:fleet`: a signed rollout to 1,000 simulated devices, measured.
// Three processes so CPU and memory can be told apart: the broker (embedded aedes, or a real
// Mosquitto with --broker mosquitto), the simulated devices (real device agents), and this
// process as the controller. Prints a summary on stderr and one JSON document on stdout
// (or --out FILE): rollout time, messages/s through the broker, CPU and memory of each part.
//
//   npm run bench:fleet -- [--devices 1000] [--broker aedes|mosquitto] [--protocol auto|4|5]
//                          [--runtime qedge|fake] [--model FILE] [--canary 10] [--wave-growth 2]
//                          [--out FILE]
import { fork, spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const { values: opt } = parseArgs({
  options: {
    role: { type: "string" }, devices: { type: "string", default: "1000" }, broker: { type: "string", default: "aedes" },
    protocol: { type: "string", default: "auto" }, runtime: { type: "string" }, model: { type: "string" },
    canary: { type: "string", default: "10" }, "wave-growth": { type: "string", default: "2" }, out: { type: "string" },
    url: { type: "string" }, secret: { type: "string" }, pub: { type: "string" }, help: { type: "boolean", short: "h" },
  },
});
const mod = (p) => import(join(DIST, p));
const MB = 1024 * 1024;
const usage = () => {
  const r = process.resourceUsage();
  return { userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000, rssMB: process.memoryUsage().rss / MB, maxRssMB: r.maxRSS / 1024 };
};

// ---------------------------------------------------------------- child: embedded broker
if (opt.role === "broker") {
  const { startBroker } = await mod("host/broker/embedded.js");
  const { hashPassword } = await mod("host/broker/auth.js");
  const b = await startBroker({ port: 0, auth: { deviceSecret: opt.secret, users: { bench: hashPassword("bench", "controller") } } });
  process.send({ type: "ready", url: b.url });
  process.on("message", async (m) => {
    if (m.type === "usage") process.send({ type: "usage", usage: usage(), stats: b.stats() });
    if (m.type === "stop") { setTimeout(() => process.exit(0), 3000).unref(); await b.close(); process.exit(0); }
  });
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------- child: simulated devices
else if (opt.role === "devices") {
  const { SimFleet } = await mod("firmware-sim/runner.js");
  const { derivedDevicePassword } = await mod("host/broker/auth.js");
  const { FakeRuntime } = await mod("host/device/fake-runtime.js");
  const { QedgeRuntime } = await mod("host/device/runtime.js");
  const { supportedBuilds } = await mod("host/wasm/kernels.js");
  const n = Number(opt.devices);
  const supported = supportedBuilds();
  const fleet = new SimFleet({
    broker: opt.url, devices: n, boards: "mixed", idPrefix: "b-", trustedKeys: [createPublicKey(Buffer.from(opt.pub, "base64").toString("utf8"))],
    runtime: opt.runtime === "fake" ? new FakeRuntime() : new QedgeRuntime(),
    credentials: (id) => ({ username: id, password: derivedDevicePassword(opt.secret, id) }),
    protocol: opt.protocol === "auto" ? "auto" : Number(opt.protocol),
    kernelClamp: (b) => (supported.includes(b.kernels) ? b : { ...b, kernels: "simd" }),
    agent: { reconnectMs: 1000, keepaliveSec: 60 }, startConcurrency: 100,
  });
  const t0 = performance.now();
  await fleet.start();
  await fleet.waitConnected(n, 600_000);
  process.send({ type: "ready", bootMs: performance.now() - t0 });
  process.on("message", async (m) => {
    if (m.type === "usage") {
      let inMsgs = 0, outMsgs = 0, installs = 0;
      for (const b of fleet.boards) { inMsgs += b.agent.stats.messagesIn; outMsgs += b.agent.stats.messagesOut; installs += b.agent.stats.installs; }
      process.send({ type: "usage", usage: usage(), messagesIn: inMsgs, messagesOut: outMsgs, installs });
    }
    if (m.type === "stop") { setTimeout(() => process.exit(0), 10_000).unref(); await fleet.stop(); process.exit(0); }
  });
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------- parent: controller + orchestration
else {
  if (opt.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 11).map((l) => l.replace(/^\/\/ ?/, "")).join("\n"));
    process.exit(0);
  }
  // Build the host if dist is missing or older than the sources.
  const newest = (dir) => {
    let t = 0;
    const walk = (d) => {
      for (const f of existsSync(d) ? readdirSync(d) : []) {
        const p = join(d, f);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (p.endsWith(".ts")) t = Math.max(t, st.mtimeMs);
      }
    };
    walk(dir);
    return t;
  };
  const built = existsSync(join(DIST, "host", "fleet", "controller.js")) && existsSync(join(DIST, "wasm", "kernels-simd.wasm"));
  const srcTime = Math.max(newest(join(ROOT, "host")), newest(join(ROOT, "firmware-sim")));
  const distTime = built ? statSync(join(DIST, "host", "fleet", "controller.js")).mtimeMs : 0;
  if (!built || srcTime > distTime) {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const steps = existsSync(join(DIST, "wasm", "kernels-simd.wasm")) ? ["build:host"] : ["build:wasm", "build:host"];
    for (const s of steps) {
      const r = spawnSync(npm, ["run", s], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
      if (r.status !== 0) { console.error(`bench:fleet: npm run ${s} failed`); process.exit(1); }
    }
  }
  const { FleetController } = await mod("host/fleet/controller.js");
  const { makeArtifact } = await mod("host/fleet/artifact.js");
  const { generateSigningKey } = await mod("host/fleet/manifest.js");
  const { createRollout, ROLLOUT_DEFAULTS, RolloutStore, runRollout } = await mod("host/fleet/rollout.js");
  const { randomSecret, derivedDevicePassword } = await mod("host/broker/auth.js");
  const { fakeModelBytes } = await mod("host/device/fake-runtime.js");
  const { startMosquitto, findMosquitto } = await mod("host/broker/mosquitto.js");
  const log = (l) => process.stderr.write(`${l}\n`);

  const n = Number(opt.devices);
  const secret = randomSecret();
  const key = generateSigningKey();
  const shared = process.env.QEDGE_SHARED ?? resolve(ROOT, "..", "shared");
  const kws = join(shared, "models", "mlperf-tiny", "kws_ref_model.tflite");
  const modelPath = opt.model ?? (existsSync(kws) ? kws : null);
  const runtime = opt.runtime ?? (modelPath ? "qedge" : "fake");
  const bytes = modelPath ? new Uint8Array(readFileSync(modelPath)) : fakeModelBytes("bench", 64 * 1024);
  const childArgs = ["--url", "", "--secret", secret, "--devices", String(n), "--pub", Buffer.from(key.publicKeyPem).toString("base64"), "--runtime", runtime, "--protocol", opt.protocol];
  const execArgv = ["--experimental-wasm-relaxed-simd"];
  const ask = (child, type) => new Promise((r) => { const on = (m) => { if (m.type === type) { child.off("message", on); r(m); } }; child.on("message", on); child.send({ type }); });
  const ready = (child) => new Promise((r, j) => { child.once("message", r); child.once("exit", (c) => j(new Error(`child exited ${c}`))); });

  // Broker
  let brokerChild = null, mosq = null, url, devices = null;
  const cleanup = () => { try { brokerChild?.kill(); } catch {} try { devices?.kill(); } catch {} };
  process.on("exit", cleanup);
  process.on("uncaughtException", (e) => { console.error(e); cleanup(); process.exit(1); });
  process.on("unhandledRejection", (e) => { console.error(e); cleanup(); process.exit(1); });
  if (opt.broker === "mosquitto") {
    if (!findMosquitto()) { console.error("bench:fleet: mosquitto not installed (apt-get install mosquitto mosquitto-clients)"); process.exit(2); }
    const users = { bench: { password: "bench", role: "controller" } };
    for (let i = 1; i <= n; i++) users[`b-${String(i).padStart(Math.max(3, String(n).length), "0")}`] = { password: "", role: "device" };
    for (const u of Object.keys(users)) if (users[u].role === "device") users[u].password = derivedDevicePassword(secret, u);
    mosq = await startMosquitto({ users });
    url = mosq.url;
  } else {
    brokerChild = fork(fileURLToPath(import.meta.url), ["--role", "broker", "--secret", secret], { execArgv });
    url = (await ready(brokerChild)).url;
  }
  childArgs[1] = url;
  log(`broker: ${opt.broker} at ${url}; ${n} devices (${runtime} runtime); model ${modelPath ?? "synthetic"} (${bytes.length} bytes)`);

  // Devices
  devices = fork(fileURLToPath(import.meta.url), ["--role", "devices", ...childArgs], { execArgv });
  const boot = await ready(devices);
  log(`devices: ${n} connected in ${(boot.bootMs / 1000).toFixed(1)} s`);

  // Controller (this process)
  const ctl = new FleetController({ broker: url, username: "bench", password: "bench", protocol: opt.protocol === "auto" ? "auto" : Number(opt.protocol) });
  await ctl.connect();
  while (ctl.devices().filter((d) => d.online).length < n) await new Promise((r) => setTimeout(r, 100));
  const dir = mkdtempSync(join(tmpdir(), "qedge-bench-fleet-"));
  const store = new RolloutStore(dir);
  const art = await makeArtifact(bytes, createPrivateKey(key.privateKeyPem), { modelId: "bench", version: "1", blockSize: 16 * 1024 });
  await store.saveArtifact(art.signed.manifest.sha256, bytes);
  const s = createRollout(ctl.devices().map((d) => d.id), art.deployment, {
    ...ROLLOUT_DEFAULTS, canary: Number(opt.canary), waveGrowth: Number(opt["wave-growth"]), concurrency: 1000, deviceTimeoutMs: 600_000, ackTimeoutMs: 30_000,
  });
  await store.save(s);
  const before = { broker: brokerChild ? await ask(brokerChild, "usage") : null, devices: await ask(devices, "usage"), ctl: { ...ctl.stats } };
  const mosqCpu = () => {
    if (!mosq) return null;
    const pid = spawnSync("pgrep", ["-f", `${mosq.dir}/mosquitto.conf`], { encoding: "utf8" }).stdout.trim().split("\n")[0];
    if (!pid) return null;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    const tick = 100; // USER_HZ
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { userMs: (Number(stat[11]) * 1000) / tick, systemMs: (Number(stat[12]) * 1000) / tick, rssMB: kb("VmRSS") / 1024, maxRssMB: kb("VmHWM") / 1024 };
  };
  const mosqBefore = mosqCpu();
  const ctlCpuBefore = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  const rep = await runRollout(ctl, store, s, { onProgress: (st, id) => {
    if (st.devices[id].state === "succeeded" && ++done % 100 === 0) log(`  ${done}/${n} devices on the new model (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } });
  const rolloutMs = performance.now() - t0;
  const ctlCpu = process.cpuUsage(ctlCpuBefore);
  const after = { broker: brokerChild ? await ask(brokerChild, "usage") : null, devices: await ask(devices, "usage"), ctl: { ...ctl.stats } };
  const mosqAfter = mosqCpu();

  const devIn = after.devices.messagesIn - before.devices.messagesIn;
  const devOut = after.devices.messagesOut - before.devices.messagesOut;
  const ctlIn = after.ctl.messagesIn - before.ctl.messagesIn;
  const ctlOut = after.ctl.messagesOut - before.ctl.messagesOut;
  const toBroker = devOut + ctlOut;
  const fromBroker = devIn + ctlIn;
  const sec = rolloutMs / 1000;
  const part = (b, a) => b && a && ({
    cpuMs: Math.round(a.userMs - b.userMs + a.systemMs - b.systemMs), cpuPct: Math.round((100 * (a.userMs - b.userMs + a.systemMs - b.systemMs)) / rolloutMs),
    rssMB: Math.round(a.rssMB), maxRssMB: Math.round(a.maxRssMB),
  });
  const result = {
    bench: "fleet-rollout", date: new Date().toISOString(), node: process.version,
    devices: n, broker: opt.broker, protocol: opt.protocol, runtime,
    model: { path: modelPath, bytes: bytes.length, blocks: Math.ceil(bytes.length / (16 * 1024)) },
    bootMs: Math.round(boot.bootMs), rolloutMs: Math.round(rolloutMs),
    waves: rep.waves.map((w) => w.size), outcome: rep.totals,
    messages: { toBroker, fromBroker, total: toBroker + fromBroker, perSecond: Math.round((toBroker + fromBroker) / sec), blocksServed: after.ctl.blocksServed - before.ctl.blocksServed },
    controller: { cpuMs: Math.round((ctlCpu.user + ctlCpu.system) / 1000), cpuPct: Math.round((ctlCpu.user + ctlCpu.system) / 10 / rolloutMs), rssMB: Math.round(process.memoryUsage().rss / MB), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) },
    brokerProcess: brokerChild ? part(before.broker.usage, after.broker.usage) : part(mosqBefore, mosqAfter),
    devicesProcess: part(before.devices.usage, after.devices.usage),
  };
  log(`rollout: ${rep.phase}, ${rep.totals.succeeded}/${n} succeeded in ${sec.toFixed(1)} s; waves [${result.waves.join(", ")}]`);
  log(`messages: ${result.messages.total} (${result.messages.perSecond}/s); controller CPU ${result.controller.cpuPct}% max RSS ${result.controller.maxRssMB} MB; broker CPU ${result.brokerProcess?.cpuPct}% max RSS ${result.brokerProcess?.maxRssMB} MB; devices CPU ${result.devicesProcess.cpuPct}% max RSS ${result.devicesProcess.maxRssMB} MB`);
  const json = JSON.stringify(result, null, 2);
  if (opt.out) writeFileSync(opt.out, `${json}\n`);
  console.log(json);
  await ctl.close();
  const exited = (c) => c && c.exitCode === null ? new Promise((r) => { c.once("exit", r); setTimeout(r, 15_000).unref(); }) : null;
  devices.send({ type: "stop" });
  await exited(devices);
  brokerChild?.send({ type: "stop" });
  await exited(brokerChild);
  cleanup();
  await mosq?.close();
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = rep.phase === "completed" && rep.totals.failed === 0 ? 0 : 1;
}
