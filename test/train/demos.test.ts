// The fine-tuning demonstrations (host/train/demos.ts), with loose bounds on their effect: the
// MNIST head recovers from a rotation it never saw, the AD autoencoder reconstructs later
// windows of its ToyCar recording better, the KWS head learns new labels within 256 KiB.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { demoAnomalyToyCar, demoKwsHead, demoMnistRotated, type DemoResult } from "../../host/train/demos.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "qedge-demos-"));
const saved = process.env.QEDGE_CACHE_DIR;
process.env.QEDGE_CACHE_DIR = dir;
afterAll(() => {
  if (saved === undefined) delete process.env.QEDGE_CACHE_DIR; else process.env.QEDGE_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

function common(r: DemoResult): void {
  for (const k of ["before", "after", "extra_memory_bytes", "seconds"] as const) expect(typeof r[k]).toBe("number");
  expect(r.committed).toBe(true);
  // the reported memory is what was allocated, and it was planned exactly
  expect(r.extra_memory_bytes).toBe(r.planned_memory_bytes);
}

describe("fine-tuning demonstrations", () => {
  test("MNIST rotated 90 degrees: the head re-learned from 80 digits recovers at least 20 points", () => {
    // a 1-epoch base keeps the test short; the demo uses the 10-epoch zoo model
    const r = demoMnistRotated({ baseEpochs: 1 });
    common(r);
    expect(r.name).toBe("mnist-rotated");
    expect(r.before).toBeLessThan(0.4);
    expect(r.after - r.before).toBeGreaterThanOrEqual(0.2);
    expect(r.extra_memory_bytes).toBeLessThanOrEqual(256 * 1024);
    expect(r.train_samples + r.check_samples).toBeLessThanOrEqual(100);
  });

  describe.skipIf(!SHARED)("MLPerf Tiny models (need ../shared)", () => {
    if (!SHARED) console.warn(NO_SHARED);
    test("AD autoencoder adapted to ToyCar: lower reconstruction error on later windows", () => {
      const r = demoAnomalyToyCar() as DemoResult;
      common(r);
      expect(r.metric).toBe("reconstruction_mse");
      expect(r.after).toBeLessThan(r.before * 0.97);
    });

    test("KWS head: new labels learned within 256 KiB of extra memory", () => {
      const r = demoKwsHead() as DemoResult;
      common(r);
      expect(r.extra_memory_bytes).toBeLessThanOrEqual(256 * 1024);
      expect(r.within_budget).toBe(true);
      expect(r.after).toBeGreaterThanOrEqual(r.before + 0.5);
      // training one more layer would not fit: the budget is what forces head-only training
      expect(r.last_two_layers_needed_bytes as number).toBeGreaterThan(256 * 1024);
    });
  });
});
