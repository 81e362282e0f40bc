// `finetune` over MQTT: the controller sends samples, the board adapts its running int8 model
// with the fine-tuning API, keeps it only if its held-out share improved, and then serves it.
// The board's result must equal the same fine-tuning done locally (same data, same seed):
// the tuned file's SHA-256 and the inference output on an unseen digit.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { QedgeRuntime } from "../../host/device/runtime.js";
import { makeArtifact } from "../../host/fleet/artifact.js";
import { ensureMnistModel } from "../../host/cli/zoo.js";
import { mnistTestSet } from "../../host/train/zoo-mnist.js";
import { finetuneOnDevice } from "../../host/train/index.js";
import { loadModelSync } from "../../host/index.js";
import { BROKER_CASES, startFleet, type FleetHarness } from "./harness.js";

/** A digit rotated 90 degrees clockwise, quantized as the MNIST model's input (scale 1/255, zp -128). */
function rotatedDigit(px: Float32Array): Uint8Array {
  const out = new Int8Array(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out[x * 28 + (27 - y)] = Math.round(px[y * 28 + x] * 255) - 128;
  return new Uint8Array(out.buffer);
}

describe("fine-tuning on command over MQTT (embedded broker)", () => {
  let h: FleetHarness | null = null;
  afterEach(async () => { await h?.close(); h = null; });

  it("boards adapt the MNIST model to rotated digits exactly as the library does; bad samples are rejected", async () => {
    const runtime = new QedgeRuntime();
    h = await startFleet(BROKER_CASES[0], { devices: 2, boards: "rpi4,visionfive2", runtime });
    const { tflite } = ensureMnistModel();
    const art = await makeArtifact(tflite, h.priv, { modelId: "mnist", version: "1", blockSize: 16384, selfTestRuntime: runtime });
    expect((await h.rollout(art, { canary: 1 })).totals.succeeded).toBe(2);

    const set = mnistTestSet(1, 101);
    const inputs = Array.from({ length: 100 }, (_, i) => rotatedDigit(set.x.subarray(i * 784, (i + 1) * 784)));
    const labels = Array.from(set.y.subarray(0, 100));
    const unseen = rotatedDigit(set.x.subarray(100 * 784, 101 * 784));
    const local = await finetuneOnDevice(tflite, { inputs, labels }, { trainable: "head", epochs: 10 });
    expect(local.committed).toBe(true);
    const m = loadModelSync(local.bytes);
    m.input(0).set(new Int8Array(unseen.buffer));
    m.invoke();
    const expected = Buffer.from(new Uint8Array(m.output(0).buffer, m.output(0).byteOffset, m.output(0).byteLength)).toString("hex");

    const args = { inputs: inputs.map((x) => Buffer.from(x).toString("base64")), labels, trainable: "head", epochs: 10 };
    for (const b of h.fleet.boards) {
      // Hostile/mistaken samples first: rejected, the running model untouched.
      const bad = await h.ctl.request(b.id, "finetune", { inputs: ["AAAA"], labels: [1] }, { resultTimeoutMs: 60_000 });
      expect(bad.ok).toBe(false);
      expect(bad.error?.type).toBe("InvalidArgumentError");

      const r = await h.ctl.request(b.id, "finetune", args, { resultTimeoutMs: 120_000 });
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      const res = r.result as { committed: boolean; before: number; after: number; metric: string; tunedSha256: string };
      expect(res.metric).toBe("accuracy");
      expect(res.committed).toBe(true);
      expect(res.after).toBeGreaterThan(res.before);
      expect(res.tunedSha256).toBe(createHash("sha256").update(local.bytes).digest("hex"));

      const inf = await h.ctl.request(b.id, "infer", { input: Buffer.from(unseen).toString("base64") });
      expect(inf.ok).toBe(true);
      const out = (inf.result as { outputs: string[] }).outputs[0];
      expect([b.id, Buffer.from(out, "base64").toString("hex")]).toEqual([b.id, expected]);
    }
  });
});
