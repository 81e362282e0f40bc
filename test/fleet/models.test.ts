// Real models through the whole path, on each broker: MLPerf Tiny models are signed, rolled
// out to mixed simulated boards running qedge's kernels (scalar on riscv64, simd elsewhere),
// health-checked against the self-test digest pinned in the manifest, and then run through
// `infer` on TFLM's sample inputs: outputs must equal the TFLM golden outputs byte for byte.
// Also: a model over a board's arena budget fails its health check and is rolled back.
import { afterEach, describe, expect, it } from "vitest";
import { FakeRuntime, fakeModelBytes } from "../../host/device/fake-runtime.js";
import { QedgeRuntime } from "../../host/device/runtime.js";
import { makeArtifact } from "../../host/fleet/artifact.js";
import { NO_SHARED, SHARED, sharedFile } from "../helpers/shared.js";
import { BROKER_CASES, NO_MOSQUITTO, skipCase, startFleet, type FleetHarness } from "./harness.js";

const MT = ["models", "mlperf-tiny"];
const CASES = [
  { model: "kws_ref_model.tflite", id: "kws", input: "kws01_sample_49x10_int8.bin", golden: "kws01_sample.out.bin" },
  { model: "pretrainedResnet_quant.tflite", id: "ic", input: "ic_person_32x32x3_int8.bin", golden: "ic_person.out.bin" },
];

for (const c of BROKER_CASES) {
  describe.skipIf(skipCase(c))(`models on ${c.name}`, () => {
    if (skipCase(c)) console.warn(NO_MOSQUITTO);
    let h: FleetHarness | null = null;
    afterEach(async () => { await h?.close(); h = null; });

    it.skipIf(!SHARED)("MLPerf Tiny models roll out to mixed boards and infer bit-exactly with TFLM", async () => {
      if (!SHARED) return console.warn(NO_SHARED);
      const runtime = new QedgeRuntime();
      h = await startFleet(c, { devices: 6, boards: "rpi4,visionfive2,rpi-zero2", runtime });
      for (const [i, k] of CASES.entries()) {
        const bytes = sharedFile(...MT, k.model);
        const art = await makeArtifact(bytes, h.priv, { modelId: k.id, version: String(i + 1), blockSize: 8192, selfTestRuntime: runtime });
        expect(art.signed.manifest.selfTest?.outputSha256).toMatch(/^[0-9a-f]{64}$/);
        const rep = await h.rollout(art, { canary: 1, waveGrowth: 2 });
        expect(rep.phase).toBe("completed");
        expect(rep.totals.succeeded).toBe(6);
        const input = Buffer.from(sharedFile(...MT, "inputs", k.input)).toString("base64");
        const golden = Buffer.from(sharedFile(...MT, "golden-tflm", k.golden)).toString("hex");
        for (const b of h.fleet.boards) {
          const r = await h.ctl.request(b.id, "infer", { input });
          expect(r.ok).toBe(true);
          const res = r.result as { outputs: string[]; kernels: string; model: { id: string } };
          expect(res.model.id).toBe(k.id);
          expect(res.kernels).toBe(b.profile.arch === "riscv64" ? "scalar" : "simd");
          expect([b.id, Buffer.from(res.outputs[0], "base64").toString("hex")]).toEqual([b.id, golden]);
        }
      }
      // The previous model stays in the other slot: rolling back brings kws back.
      const back = await h.ctl.request("dev-001", "rollback", {});
      expect(back.ok).toBe(true);
      expect((back.result as { model: { id: string } }).model.id).toBe("kws");
    });

    it("a model over the board's arena budget fails its health check; the device keeps its model", async () => {
      // Fake runtime: arena = 20 MiB for files of 50,000 bytes: over the rpi-zero2 budget of 8 MiB, under its 96 MiB memory cap.
      const runtime = new FakeRuntime({ arenaBytes: (size) => (size === 50_000 ? 20 * 1024 * 1024 : 8192) });
      h = await startFleet(c, { devices: 3, boards: "rpi-zero2", runtime });
      const v1 = await h.artifact("small", "1", { size: 20_000 });
      expect((await h.rollout(v1, { canary: 3 })).totals.succeeded).toBe(3);
      const big = await makeArtifact(fakeModelBytes("big", 50_000), h.priv, { modelId: "big", version: "1", blockSize: 4096 });
      const rep = await h.rollout(big, { canary: 1 });
      expect(rep.phase).toBe("aborted");
      expect(rep.devices.find((d) => d.state === "failed")!.error).toMatch(/^HealthCheckError: .*arena/);
      for (const b of h.fleet.boards) {
        expect(await h.verifiedModel(b.id)).toBe(v1.signed.manifest.sha256);
        expect(b.agent!.activeModel?.sha256).toBe(v1.signed.manifest.sha256);
      }
      expect(h.fleet.boards[0].agent!.stats.healthFailures).toBe(1);
    });
  });
}
