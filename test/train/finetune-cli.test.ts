// `qedge finetune`: the data format (directory with labels.json, file of rows with a labels file),
// JSON lines, exit codes, the written model, checkpoint / resume, and typed errors.
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { finetuneCommand } from "../../host/cli/finetune.js";
import { loadSamples, readLabelsFile } from "../../host/train/data.js";
import { loadModelSync, parseModel, InvalidArgumentError, MemoryBudgetError } from "../../host/index.js";
import { decodeCheckpoint } from "../../host/train/checkpoint.js";
import { TINY_CLASSIFIER, randomInt8, tinyInt8Model } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "qedge-finetune-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const IN = 128;
const modelFile = join(dir, "tiny.tflite");
const bytes = tinyInt8Model(TINY_CLASSIFIER, 11, true);
writeFileSync(modelFile, bytes);

/** Labels: the model's own prediction shifted by one class, so the head has something to learn. */
function label(x: Int8Array): number {
  const m = loadModelSync(bytes);
  (m.input(0) as Int8Array).set(x);
  m.invoke();
  const y = m.output(0) as Int8Array;
  let best = 0;
  for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
  return (best + 1) % 4;
}

const samples = randomInt8(31, 100, IN);
const labels = samples.map(label);
// a directory: one file per sample, labels.json as an object of file -> label
const dataDir = join(dir, "data");
mkdirSync(dataDir);
const labelMap: Record<string, number> = {};
samples.forEach((s, i) => {
  const f = `s${String(i).padStart(3, "0")}.bin`;
  writeFileSync(join(dataDir, f), s);
  labelMap[f] = labels[i];
});
writeFileSync(join(dataDir, "labels.json"), JSON.stringify(labelMap));
// a file of rows with a whitespace-separated labels file
const rowsFile = join(dir, "rows.bin");
writeFileSync(rowsFile, Buffer.concat(samples.map((s) => Buffer.from(s.buffer))));
writeFileSync(join(dir, "rows.labels"), labels.join("\n"));

async function run(args: string[]): Promise<{ code: number; lines: Record<string, unknown>[] }> {
  const out: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((s: unknown) => { out.push(String(s)); });
  const err = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    const code = await finetuneCommand(args);
    return { code, lines: out.map((l) => JSON.parse(l)) };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe("qedge finetune", () => {
  test("data format: a directory with labels.json and a file of rows with a labels file read the same samples", () => {
    const a = loadSamples(dataDir, IN), b = loadSamples(rowsFile, IN, join(dir, "rows.labels"));
    expect(a.inputs.length).toBe(100);
    expect(a.labels).toEqual(labels);
    expect(b.labels).toEqual(labels);
    a.inputs.forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(samples[i])));
    b.inputs.forEach((x, i) => expect(Array.from(x)).toEqual(Array.from(samples[i])));
    // labels.json as an array, and per-row labels for multi-row files
    const d2 = join(dir, "multi");
    mkdirSync(d2);
    writeFileSync(join(d2, "a.bin"), Buffer.concat([samples[0], samples[1]].map((s) => Buffer.from(s.buffer))));
    writeFileSync(join(d2, "b.bin"), samples[2]);
    writeFileSync(join(d2, "labels.json"), JSON.stringify({ "a.bin": [3, 1], "b.bin": 2 }));
    expect(loadSamples(d2, IN).labels).toEqual([3, 1, 2]);
    writeFileSync(join(d2, "labels.json"), "[0, 1, 2]");
    expect(loadSamples(d2, IN).labels).toEqual([0, 1, 2]);
    // no labels: autoencoder samples
    expect(loadSamples(rowsFile, IN).labels).toBeUndefined();
    writeFileSync(join(dir, "l.json"), "[1, 2, 3]");
    expect(readLabelsFile(join(dir, "l.json"))).toEqual([1, 2, 3]);
  });

  test("JSON lines: start, one per epoch, done; the written model loads and beats the original on held-out samples", async () => {
    const out = join(dir, "tuned.tflite");
    const ckpt = join(dir, "tuned.ckpt");
    const { code, lines } = await run([modelFile, "--data", dataDir, "--epochs", "15", "--lr", "0.05", "--budget", "256k",
      "--out", out, "--checkpoint", ckpt, "--json"]);
    expect(code).toBe(0);
    expect(lines[0].event).toBe("start");
    expect(lines[0].held_out_samples).toBe(20);
    expect(lines.filter((l) => l.event === "epoch").length).toBe(15);
    const done = lines[lines.length - 1];
    expect(done.event).toBe("done");
    expect(done.committed).toBe(true);
    expect(done.after as number).toBeGreaterThan(done.before as number);
    expect(done.memory_used_bytes as number).toBeLessThanOrEqual(256 * 1024);
    expect(done.out).toBe(out);
    const tuned = parseModel(new Uint8Array(readFileSync(out)));
    expect(tuned.operators.length).toBe(parseModel(bytes).operators.length);
    expect(decodeCheckpoint(new Uint8Array(readFileSync(ckpt))).header.progress.epochs).toBe(15);
    // resuming from the checkpoint continues the epoch count
    const resumed = await run([modelFile, "--data", rowsFile, "--labels", join(dir, "rows.labels"), "--epochs", "1", "--lr", "0.05",
      "--resume", ckpt, "--json", "--force"]);
    expect(resumed.lines[resumed.lines.length - 1].epochs).toBe(16);
  });

  test("not committed (exit 3, nothing written) when the held-out metric drops; --force writes it", async () => {
    // held-out labels = the model's own predictions (accuracy 1 before); train on the shifted ones
    const own = join(dir, "own.labels");
    writeFileSync(own, JSON.stringify(labels.map((l) => (l + 3) % 4)));
    const out = join(dir, "worse.tflite");
    const args = [modelFile, "--data", dataDir, "--val", rowsFile, "--val-labels", own, "--epochs", "15", "--lr", "0.05", "--out", out, "--json"];
    const r = await run(args);
    expect(r.code).toBe(3);
    const done = r.lines[r.lines.length - 1];
    expect(done.committed).toBe(false);
    expect(done.before).toBe(1);
    expect(done.after as number).toBeLessThan(1);
    expect(existsSync(out)).toBe(false);
    const f = await run([...args, "--force"]);
    expect(f.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  test("errors: over budget, bad data, bad options", async () => {
    await expect(run([modelFile, "--data", dataDir, "--budget", "2k"])).rejects.toThrow(MemoryBudgetError);
    await expect(run([modelFile])).rejects.toThrow(/--data/);
    await expect(run([modelFile, "--data", join(dir, "nope")])).rejects.toThrow(/no such file/);
    writeFileSync(join(dir, "odd.bin"), new Uint8Array(IN + 1));
    await expect(run([modelFile, "--data", join(dir, "odd.bin")])).rejects.toThrow(/whole number of 128-byte/);
    await expect(run([modelFile, "--data", rowsFile])).rejects.toThrow(/labels are needed/);
    await expect(run([modelFile, "--data", rowsFile, "--labels", join(dir, "l.json")])).rejects.toThrow(/3 labels for 100/);
    await expect(run([modelFile, "--data", dataDir, "--epochs", "0"])).rejects.toThrow(/--epochs/);
    await expect(run([modelFile, "--data", dataDir, "--trainable", "op42"])).rejects.toThrow(InvalidArgumentError);
    await expect(run([modelFile, "--data", dataDir, "--optimizer", "lbfgs"])).rejects.toThrow(/--optimizer/);
    await expect(run([modelFile, "--data", dataDir, "--holdout", "1.5"])).rejects.toThrow(/--holdout/);
    await expect(run([modelFile, "--data", dataDir, "--bogus"])).rejects.toThrow(InvalidArgumentError);
    const help = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await finetuneCommand(["--help"])).toBe(0);
      expect(String(help.mock.calls[0][0])).toMatch(/labels\.json/);
    } finally {
      help.mockRestore();
    }
  });
});
