// `qedge zoo mnist`: a short deterministic training run (1 epoch) through the CLI, checked with
// loose accuracy bounds; the written file run by qedge's runtime; the cache; and the same bytes
// from the scalar training build (determinism across builds).
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { zooCommand } from "../../host/cli/zoo.js";
import { buildMnistModel, evaluateTflite, mnistTestSet, MNIST_INPUT_QUANT } from "../../host/train/zoo-mnist.js";
import { loadMnist, splitMnist } from "../../host/train/mnist.js";
import { loadModelSync, InvalidArgumentError } from "../../host/index.js";
import { TRAIN_BUILDS_HERE } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "qedge-zoo-"));
const saved = process.env.QEDGE_CACHE_DIR;
process.env.QEDGE_CACHE_DIR = join(dir, "cache");
afterAll(() => {
  if (saved === undefined) delete process.env.QEDGE_CACHE_DIR; else process.env.QEDGE_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

async function runJson(args: string[]): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((s: unknown) => { lines.push(String(s)); });
  try {
    expect(await zooCommand(args)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  expect(lines.length).toBe(1);
  return JSON.parse(lines[0]);
}

describe("qedge zoo mnist", () => {
  const out = join(dir, "mnist.tflite");
  let first: Record<string, unknown>;

  test("the split is deterministic, disjoint and covers the data", () => {
    const m = loadMnist();
    expect(m.count).toBe(10000);
    const a = splitMnist(m, 7, 2000), b = splitMnist(m, 7, 2000), c = splitMnist(m, 8, 2000);
    expect(a).toEqual(b);
    expect(a.test).not.toEqual(c.test);
    expect(new Set([...a.train, ...a.test]).size).toBe(10000);
    expect(a.test.length).toBe(2000);
  });

  test("one epoch: loose accuracy bounds, float and int8 close, file written and runnable", async () => {
    first = await runJson(["mnist", "--epochs", "1", "--json", "--out", out, "--seed", "3"]);
    for (const k of ["float_accuracy", "int8_accuracy", "seconds", "agreement"]) expect(typeof first[k]).toBe("number");
    expect(first.cached).toBe(false);
    expect(first.float_accuracy).toBeGreaterThan(0.9);
    expect(first.int8_accuracy).toBeGreaterThan(0.9);
    expect(Math.abs((first.float_accuracy as number) - (first.int8_accuracy as number))).toBeLessThanOrEqual(0.02);
    // same argmax as the float model on most held-out samples
    expect(first.agreement).toBeGreaterThanOrEqual(0.97);
    const bytes = new Uint8Array(readFileSync(out));
    expect(bytes.byteLength).toBe(first.bytes);
    const model = loadModelSync(bytes);
    expect(model.inputs[0].shape).toEqual([1, 28, 28, 1]);
    expect(model.outputs[0].shape).toEqual([1, 10]);
    expect(model.outputs[0].scale).toBe(Math.fround(1 / 256));
    // independent re-measurement of the int8 accuracy on the same held-out split
    expect(evaluateTflite(bytes, mnistTestSet(3), MNIST_INPUT_QUANT).accuracy).toBe(first.int8_accuracy);
  });

  test("a second call reuses the cache", async () => {
    const again = await runJson(["mnist", "--epochs", "1", "--json", "--seed", "3"]);
    expect(again.cached).toBe(true);
    expect(again.int8_accuracy).toBe(first.int8_accuracy);
    expect(again.float_accuracy).toBe(first.float_accuracy);
    expect(existsSync(again.cache_file as string)).toBe(true);
  });

  test.skipIf(!TRAIN_BUILDS_HERE.includes("scalar"))("the scalar training build writes the same bytes", () => {
    const r = buildMnistModel({ seed: 3, epochs: 1, build: "scalar" });
    expect(Buffer.compare(Buffer.from(r.tflite), readFileSync(out))).toBe(0);
  });

  test("bad arguments get typed errors", async () => {
    await expect(zooCommand(["cifar"])).rejects.toThrow(InvalidArgumentError);
    await expect(zooCommand(["mnist", "--epochs", "0"])).rejects.toThrow(/--epochs/);
    await expect(zooCommand(["mnist", "--seed", "-1"])).rejects.toThrow(InvalidArgumentError);
    await expect(zooCommand(["mnist", "--train-kernels", "gpu"])).rejects.toThrow(/train-kernels/);
    await expect(zooCommand(["mnist", "--bogus"])).rejects.toThrow(InvalidArgumentError);
  });
});
