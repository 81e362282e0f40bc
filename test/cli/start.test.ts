// `npm start` end to end on embedded defaults: broker, simulated boards, signed rollout of
// qedge's own MNIST model, inference on every board. Each board's output must equal what the
// library computes locally for the same model and input (the model crossed MQTT intact and the
// board ran it correctly).
import { describe, expect, it, vi } from "vitest";
import { startCommand } from "../../host/cli/start.js";
import { ensureMnistModel } from "../../host/cli/zoo.js";
import { mnistTestSet, MNIST_INPUT_QUANT } from "../../host/train/zoo-mnist.js";
import { loadModelSync, quantize } from "../../host/index.js";

describe("qedge start", () => {
  it("rolls qedge's own model out to a small simulated fleet and every board answers like the library", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((s: unknown) => { lines.push(String(s)); });
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    let code: number;
    try {
      code = await startCommand(["--devices", "4", "--no-shared", "--json"]);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(0);
    const report = JSON.parse(lines[lines.length - 1]);
    expect(report.ok).toBe(true);
    expect(report.results).toHaveLength(4);

    const m = loadModelSync(ensureMnistModel().tflite);
    const digits = mnistTestSet(1, 1);
    m.input(0).set(quantize(digits.x.subarray(0, digits.sampleSize), MNIST_INPUT_QUANT.scale, MNIST_INPUT_QUANT.zeroPoint));
    m.invoke();
    const out = m.output(0);
    const expected = Buffer.from(out.buffer, out.byteOffset, Math.min(16, out.byteLength)).toString("hex");
    for (const row of report.results) {
      expect(row.status, row.board).toBe("ok");
      expect(row.model).toBe("qedge-mnist");
      expect(row.output, row.board).toBe(expected);
    }
  });

  it("--help documents the job; bad arguments are typed errors", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((s: unknown) => { lines.push(String(s)); });
    try {
      expect(await startCommand(["--help"])).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(lines.join("\n")).toMatch(/usage: qedge start/);
    await expect(startCommand(["--devices", "0"])).rejects.toThrow(/--devices/);
  });
});
