// Files qedge writes (the zoo MNIST model, a fine-tuned export) are accepted by TFLite itself:
// its WebAssembly build (bench peer @tensorflow/tfjs-tflite, dev-only, in bench/node_modules)
// loads them and picks the same class as qedge on real held-out digits. qedge's own loader
// round-trips them. CI installs the peers (npm ci --prefix bench).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModel, loadModelSync, parseModel, quantize } from "../../host/index.js";
import { ensureMnistModel } from "../../host/cli/zoo.js";
import { mnistTestSet, MNIST_INPUT_QUANT } from "../../host/train/zoo-mnist.js";

const PEER = join(process.cwd(), "bench", "node_modules", "@tensorflow", "tfjs-tflite");
const HAVE_PEER = existsSync(PEER);
const WHY = "bench peers are not installed (npm ci --prefix bench): skipping the TFLite acceptance check";
if (!HAVE_PEER) console.warn(WHY);

const argmax = (v: ArrayLike<number>) => { let b = 0; for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i; return b; };

async function agreement(tflite: Uint8Array, n: number): Promise<{ same: number; n: number; accepted: boolean }> {
  // @ts-ignore: plain .mjs helper of the bench sub-package
  const { createTfliteRunner } = await import("../../bench/lib/tflite-peer.mjs");
  const peer = await createTfliteRunner("simd", tflite);
  const ours = loadModelSync(tflite);
  const data = mnistTestSet(1, n);
  let same = 0;
  for (let i = 0; i < n; i++) {
    const q = quantize(data.x.subarray(i * data.sampleSize, (i + 1) * data.sampleSize), MNIST_INPUT_QUANT.scale, MNIST_INPUT_QUANT.zeroPoint);
    ours.input(0).set(q);
    ours.invoke();
    peer.input(0).set(new Uint8Array(q.buffer));
    peer.invoke();
    const p = peer.output(0);
    if (argmax(ours.output(0)) === argmax(new Int8Array(p.buffer, p.byteOffset, p.byteLength))) same++;
  }
  return { same, n, accepted: true };
}

describe.skipIf(!HAVE_PEER)(`written .tflite files run in TFLite itself${HAVE_PEER ? "" : ` (${WHY})`}`, () => {
  it("the zoo MNIST model: TFLite-wasm accepts it and agrees with qedge's argmax on 500 held-out digits", async () => {
    const { tflite } = ensureMnistModel();
    const g = parseModel(tflite);
    expect(g.operators.map((o) => o.opName)).toContain("CONV_2D");
    const r = await agreement(tflite, 500);
    // TFLite rescales in float32, so a near-tie may flip; the helper measured 2000/2000.
    expect(r.same / r.n).toBeGreaterThanOrEqual(0.99);
  });

  it("a fine-tuned export (head retrained on a few digits) is accepted and agrees too", async () => {
    const { tflite } = ensureMnistModel();
    const model = await loadModel(tflite, { instantiation: "core" });
    const data = mnistTestSet(7, 64);
    const inputs: Int8Array[] = [];
    const labels: number[] = [];
    for (let i = 0; i < data.count; i++) {
      inputs.push(quantize(data.x.subarray(i * data.sampleSize, (i + 1) * data.sampleSize), MNIST_INPUT_QUANT.scale, MNIST_INPUT_QUANT.zeroPoint));
      labels.push(data.y[i]);
    }
    const t = model.trainer({ trainable: "head", optimizer: "adam", lr: 1e-3, batchSize: 16 });
    t.fit({ inputs, labels }, { epochs: 2 });
    const exported = t.export();
    expect(() => parseModel(exported)).not.toThrow();
    const r = await agreement(exported, 300);
    expect(r.same / r.n).toBeGreaterThanOrEqual(0.99);
  });
});
