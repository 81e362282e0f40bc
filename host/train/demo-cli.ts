// `npm run demo:finetune [-- --json] [-- --only mnist,ad,kws]`: run the fine-tuning
// demonstrations (demos.ts) and print one JSON object per demonstration, or a short summary.
import { parseArgs } from "node:util";
import { DEMOS, type DemoResult, type DemoSkipped } from "./demos.js";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, only: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log("usage: npm run demo:finetune -- [--json] [--only mnist,ad,kws]\n" +
      "Fine-tunes: the zoo MNIST head on rotated digits, the MLPerf Tiny AD autoencoder on ToyCar windows,\n" +
      "the MLPerf Tiny KWS head within 256 KiB. Demos needing ../shared skip with a message when it is absent.");
    return 0;
  }
  const names = values.only ? values.only.split(",").map((s) => s.trim()) : Object.keys(DEMOS);
  for (const n of names) {
    if (!(n in DEMOS)) { console.error(`unknown demo '${n}' (have: ${Object.keys(DEMOS).join(", ")})`); return 2; }
  }
  for (const n of names) {
    const r: DemoResult | DemoSkipped = DEMOS[n as keyof typeof DEMOS]();
    if (values.json) { console.log(JSON.stringify(r)); continue; }
    if ("skipped" in r) { console.log(`${r.name}: skipped (${r.skipped})`); continue; }
    const fmt = (v: number) => (r.metric === "accuracy" ? `${(v * 100).toFixed(1)}%` : v.toPrecision(4));
    console.log(`${r.name}: ${r.metric} ${fmt(r.before)} -> ${fmt(r.after)} (${r.committed ? "committed" : "not committed"}); ` +
      `trainable ${r.trainable.join(", ")}; extra memory ${r.extra_memory_bytes} B; ${r.seconds.toFixed(2)} s`);
  }
  return 0;
}

main().then((c) => { process.exitCode = c; }, (e) => { console.error(e?.stack ?? e); process.exitCode = 1; });
