// qedge inspect: output for a builder-made model (expected values from its description) and a
// third-party one, usage errors, and the plan hook.
import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectCommand } from "../../host/cli/inspect.js";
import { ModelFormatError } from "../../host/errors.js";
import { tinyConvGraph, tinyFcGraph } from "../helpers/tflite-builder.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "qedge-inspect-"));
function modelFile(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function capture() {
  const out: string[] = [], err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a) => { out.push(a.join(" ")); });
  vi.spyOn(console, "error").mockImplementation((...a) => { err.push(a.join(" ")); });
  return { out, err };
}

afterEach(() => vi.restoreAllMocks());

describe("qedge inspect", () => {
  it("--help prints usage and exits 0; a missing MODEL exits 2", async () => {
    const c = capture();
    expect(await inspectCommand(["--help"])).toBe(0);
    expect(c.out.join("\n")).toMatch(/^usage: qedge inspect MODEL \[--json\]/);
    expect(await inspectCommand([])).toBe(2);
    expect(await inspectCommand(["--bogus", "x"])).toBe(2);
    expect(c.err.join("\n")).toMatch(/expected exactly one MODEL/);
  });

  it("--json: operators with versions and options, tensors with quantization scale counts", async () => {
    const file = modelFile("conv.tflite", tinyConvGraph().build());
    const c = capture();
    expect(await inspectCommand([file, "--json"])).toBe(0);
    const j = JSON.parse(c.out.join("\n"));
    expect(j.file).toBe("conv.tflite");
    expect(j.inputs).toEqual([8]);
    expect(j.outputs).toEqual([7]);
    expect(j.operators.map((o: { op: string; version: number }) => `${o.op}/${o.version}`)).toEqual(["CONV_2D/3", "DEPTHWISE_CONV_2D/3", "RESHAPE/1"]);
    expect(j.operators[0].options).toMatchObject({ strideW: 2, fusedActivationFunction: 3 });
    expect(j.tensors[0]).toMatchObject({ name: "conv/w", type: "INT8", shape: [4, 3, 3, 2], bytes: 72, constant: true, variable: false });
    expect(j.tensors[0].quantization).toMatchObject({ scaleCount: 4, quantizedDimension: 0 });
    expect(j.tensors[8].quantization).toMatchObject({ scaleCount: 1, zeroPoint: [0] });
    // The runtime's plan for this graph: all activations fit in fewer bytes than their sum.
    expect(j.plan.arena_bytes).toBeGreaterThan(0);
    expect(j.plan.arena_bytes).toBeLessThanOrEqual(j.plan.activation_bytes_unplanned + 16 * j.plan.arena_buffers);
  });

  it("text output names ops, enum options and quantization", async () => {
    const file = modelFile("fc.tflite", tinyFcGraph().build());
    const c = capture();
    expect(await inspectCommand([file])).toBe(0);
    const text = c.out.join("\n");
    expect(text).toMatch(/^model: fc\.tflite \(\d+ bytes, schema v3\)/);
    expect(text).toContain("#0   FULLY_CONNECTED v4  [0, 1, 2] -> [3]  fusedActivationFunction=RELU");
    expect(text).toContain("#1   SOFTMAX v2  [3] -> [4]  beta=1");
    expect(text).toMatch(/t1 +weights +INT8 +\[3,4\] +12 B const +scale 0\.25 zp 0/);
    expect(text).toContain("totals: constant data 24 bytes in 2 tensors");
  });

  it("plan hook: a function of the graph, printed as a plan section and per-tensor offsets", async () => {
    const file = modelFile("fc2.tflite", tinyFcGraph().build());
    const c = capture();
    const code = await inspectCommand([file], (g) => ({ summary: { arenaBytes: 64, tensors: g.tensors.length }, tensorOffsets: new Map([[3, 16]]) }));
    expect(code).toBe(0);
    expect(c.out.join("\n")).toMatch(/plan:\n  arenaBytes: 64\n  tensors: 5/);
    expect(c.out.join("\n")).toMatch(/t3 +logits .*@16/);
  });

  it("a malformed file raises the loader's typed error (main prints it)", async () => {
    const bytes = tinyFcGraph().build().slice(0, 100);
    await expect(inspectCommand([modelFile("bad.tflite", bytes)])).rejects.toBeInstanceOf(ModelFormatError);
  });

  it.skipIf(!SHARED)(`KWS (${SHARED ? "../shared" : NO_SHARED})`, async () => {
    const c = capture();
    expect(await inspectCommand([join(SHARED ?? "", "models", "mlperf-tiny", "kws_ref_model.tflite"), "--json"])).toBe(0);
    const j = JSON.parse(c.out.join("\n"));
    expect(j.operators).toHaveLength(13);
    expect(j.tensors).toHaveLength(35);
    expect(j.tensors[0]).toMatchObject({ shape: [1, 49, 10, 1], type: "INT8", bytes: 490 });
  });
});
