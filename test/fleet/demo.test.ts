// runFleetDemo (behind `npm start`): embedded broker, mixed boards, signed canary rollouts,
// inference on every board; the KWS output must equal the TFLM golden output on every board.
import { describe, expect, it } from "vitest";
import { runFleetDemo } from "../../host/fleet/demo.js";
import { NO_SHARED, SHARED, sharedFile } from "../helpers/shared.js";

describe.skipIf(!SHARED)("fleet demo", () => {
  if (!SHARED) console.warn(NO_SHARED);
  it("rolls out two models to 6 mixed boards and infers on each", async () => {
    const mt = ["models", "mlperf-tiny"];
    const lines: string[] = [];
    const report = await runFleetDemo({
      devices: 6, json: true, log: (l) => lines.push(l),
      models: [
        { id: "kws", bytes: sharedFile(...mt, "kws_ref_model.tflite"), input: sharedFile(...mt, "inputs", "kws01_sample_49x10_int8.bin") },
        { id: "ad01", bytes: sharedFile(...mt, "ad01_int8.tflite") },
      ],
    });
    expect(report.ok).toBe(true);
    expect(report.rollouts.map((r) => [r.phase, r.totals.succeeded])).toEqual([["completed", 6], ["completed", 6]]);
    expect(report.results).toHaveLength(12);
    const golden = Buffer.from(sharedFile(...mt, "golden-tflm", "kws01_sample.out.bin")).toString("hex");
    for (const r of report.results.filter((x) => x.model === "kws")) expect(r.output).toBe(golden);
    expect(new Set(report.results.map((r) => r.arch))).toEqual(new Set(["aarch64", "riscv64", "armv7"]));
    expect(lines.some((l) => l.includes("waves [1, 2, 3]"))).toBe(true);
  });
});
