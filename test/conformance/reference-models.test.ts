// Whole models through qedge (every build) and through the independent reference interpreter
// (test/reference/interpreter.ts, which shares no code with host/runtime), byte for byte.
// The interpreter itself is first checked against the TFLM goldens, so an arithmetic slip shared
// by all kernel builds cannot pass unnoticed. Self-made models cover ops/options that the shared
// models lack and run without ../shared.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelSync, parseModel, type Model, type ModelGraph } from "../../host/index.js";
import { TensorType } from "../../host/model/types.js";
import { initialState, referenceRun, unsupportedOps, type ReferenceState } from "../reference/interpreter.js";
import { BUILDS, rng } from "../helpers/kernel-harness.js";
import { SHARED, NO_SHARED } from "../helpers/shared.js";
import { goldenCases, firstDiff } from "../helpers/golden.js";
import { GraphBuilder } from "../helpers/tflite-builder.js";
import { BuiltinOp } from "../../host/model/types.js";

const bytesOf = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** Seeded random input for a graph input: uniform bytes for integers, floats around [0, 1]. */
function randomInput(graph: ModelGraph, k: number, r: () => number): ArrayBufferView {
  const t = graph.tensors[graph.inputs[k]];
  if (t.type === TensorType.FLOAT32) {
    return Float32Array.from({ length: t.byteLength / 4 }, () => Math.fround(r() * 1.4 - 0.2));
  }
  return Uint8Array.from({ length: t.byteLength }, () => Math.floor(r() * 256));
}

/** Bytes as signed values for int8 outputs, so a mismatch message shows the real numbers. */
function readable(graph: ModelGraph, outIndex: number, b: Uint8Array): ArrayLike<number> {
  return graph.tensors[graph.outputs[outIndex]].type === TensorType.INT8 ? new Int8Array(b.buffer, b.byteOffset, b.length) : b;
}

/** Run qedge on one input set; returns the output bytes (copied). */
function qedgeRun(m: Model, inputs: ArrayBufferView[]): Uint8Array[] {
  inputs.forEach((v, k) => bytesOf(m.input(k)).set(bytesOf(v)));
  m.invoke();
  return m.outputs.map((_, k) => bytesOf(m.output(k)).slice());
}

/**
 * Name the first operator whose output differs between qedge and the reference (fresh state),
 * so a failure reports the op instead of only the final bytes.
 */
function firstDifferingOp(graph: ModelGraph, m: Model, inputs: ArrayBufferView[], state?: ReferenceState): string {
  const ref: Uint8Array[] = [];
  referenceRun(graph, inputs, state, (i, values) => ref[i] = bytesOf(values.get(graph.operators[i].outputs[0])!).slice());
  m.reset();
  inputs.forEach((v, k) => bytesOf(m.input(k)).set(bytesOf(v)));
  let found = "";
  m.invokeStepwise((i) => {
    if (found) return;
    const op = graph.operators[i];
    const got = m.tensor(op.outputs[0]);
    if (!got) return;
    const t = graph.tensors[op.outputs[0]];
    const signed = (b: Uint8Array) => (t.type === TensorType.INT8 ? new Int8Array(b.buffer, b.byteOffset, b.length) : b);
    const d = firstDiff(signed(bytesOf(got)), signed(ref[i]));
    if (d) {
      const shapes = op.inputs.filter((t) => t >= 0).map((t) => `[${graph.tensors[t].shape}]`).join(", ");
      found = `op ${i} ${op.opName} (inputs ${shapes} -> [${graph.tensors[op.outputs[0]].shape}], options ${JSON.stringify(op.options)}): ${d}`;
    }
  });
  return found || "no single op differs (state-dependent?)";
}

/**
 * Compare qedge (each build) with the reference on a sequence of input sets, invoked in a row
 * without reset (state carried in both). Returns mismatch descriptions.
 */
function compareSequence(bytes: Uint8Array, steps: ArrayBufferView[][]): string[] {
  const graph = parseModel(bytes);
  const state = initialState(graph);
  const stateful = state.size > 0;
  const expected = steps.map((inputs) => referenceRun(graph, inputs, state).map((o) => bytesOf(o).slice()));
  const bad: string[] = [];
  for (const build of BUILDS) {
    const m = loadModelSync(bytes, { kernels: build });
    for (let s = 0; s < steps.length; s++) {
      const got = qedgeRun(m, steps[s]);
      for (let k = 0; k < got.length; k++) {
        const d = firstDiff(readable(graph, k, got[k]), readable(graph, k, expected[s][k]));
        if (!d) continue;
        const where = s === 0 || !stateful ? firstDifferingOp(graph, loadModelSync(bytes, { kernels: build }), steps[s])
          : "not localized (state carried over from earlier steps)";
        bad.push(`${build}: step ${s} output ${k}: ${d}; first differing: ${where}`);
        break;
      }
      if (bad.length && bad[bad.length - 1].startsWith(`${build}:`)) break;
    }
  }
  return bad;
}

function randomSteps(graph: ModelGraph, seed: number, count: number): ArrayBufferView[][] {
  const r = rng(seed);
  return Array.from({ length: count }, () => graph.inputs.map((_, k) => randomInput(graph, k, r)));
}

// ---------------------------------------------------------------------------------------------
// Self-made models: ops and options the shared models lack; no third-party files needed.

const ints = (seed: number, n: number, lo: number, hi: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
};
const perChannel = (scales: number[], dim: number) => ({ scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: dim });

/**
 * [1,9,8,3] -> CONV_2D 3x3 dilation 2 SAME RELU_N1_TO_1 -> DEPTHWISE 3x3 multiplier 2 stride 2
 * SAME (uneven padding) RELU6 -> MAX_POOL 2x2 stride 2 SAME -> AVERAGE_POOL 3x3 stride 1 SAME
 * (partial windows) RELU6 -> FULLY_CONNECTED keep_num_dims, per-channel, RELU -> SOFTMAX beta 0.7.
 * Outputs: the softmax and the average pool.
 */
function convVariantsModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.act("x", [1, 9, 8, 3], 0.02, 5);
  const cw = g.constI8("conv/w", [4, 3, 3, 3], ints(1, 108, -127, 127), perChannel([0.001, 0.002, 0.0015, 0.003], 0));
  const cb = g.constI32("conv/b", [4], ints(2, 4, -500, 500), perChannel([0.00002, 0.00004, 0.00003, 0.00006], 0));
  const c1 = g.act("conv", [1, 9, 8, 4], 0.01, -3);
  g.op(BuiltinOp.CONV_2D, [x, cw, cb], [c1],
    { padding: 0, strideW: 1, strideH: 1, fusedActivationFunction: 2, dilationWFactor: 2, dilationHFactor: 2 }, 3);
  const dwScales = [0.01, 0.012, 0.008, 0.02, 0.015, 0.01, 0.009, 0.011];
  const dw = g.constI8("dw/w", [1, 3, 3, 8], ints(3, 72, -127, 127), perChannel(dwScales, 3));
  const db = g.constI32("dw/b", [8], ints(4, 8, -2000, 2000), perChannel(dwScales.map((s) => s * 0.01), 0));
  const d1 = g.act("dw", [1, 5, 4, 8], 0.03, -128);
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [c1, dw, db], [d1],
    { padding: 0, strideW: 2, strideH: 2, depthMultiplier: 2, fusedActivationFunction: 3, dilationWFactor: 1, dilationHFactor: 1 }, 3);
  const mp = g.act("maxpool", [1, 3, 2, 8], 0.03, -128);
  g.op(BuiltinOp.MAX_POOL_2D, [d1], [mp], { padding: 0, strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: 0 }, 2);
  const ap = g.act("avgpool", [1, 3, 2, 8], 0.03, -128);
  g.op(BuiltinOp.AVERAGE_POOL_2D, [mp], [ap], { padding: 0, strideW: 1, strideH: 1, filterWidth: 3, filterHeight: 3, fusedActivationFunction: 3 }, 2);
  const fw = g.constI8("fc/w", [5, 8], ints(5, 40, -127, 127), perChannel([0.02, 0.01, 0.03, 0.015, 0.025], 0));
  const fb = g.constI32("fc/b", [5], ints(6, 5, -300, 300), perChannel([0.0006, 0.0003, 0.0009, 0.00045, 0.00075], 0));
  const fc = g.act("fc", [1, 3, 2, 5], 0.06, -20);
  g.op(BuiltinOp.FULLY_CONNECTED, [ap, fw, fb], [fc], { fusedActivationFunction: 1, keepNumDims: true }, 5);
  const sm = g.act("softmax", [1, 3, 2, 5], 1 / 256, -128);
  g.op(BuiltinOp.SOFTMAX, [fc], [sm], { beta: 0.7 }, 2);
  g.inputs = [x];
  g.outputs = [sm, ap];
  return g.build();
}

/**
 * Two inputs a [1,3,4,5], b [1,3,1,5]. ADD a + const [5] (RELU), MUL a * b broadcast along W
 * (RELU6), ADD of that and a (different scales), LOGISTIC, TANH, MUL gate (LOGISTIC * TANH),
 * MUL TANH * b with RELU_N1_TO_1, and ADD b + const [1,1,4,1] (both sides broadcast).
 */
function elementwiseModel(): Uint8Array {
  const g = new GraphBuilder();
  const a = g.act("a", [1, 3, 4, 5], 0.05, -10);
  const b = g.act("b", [1, 3, 1, 5], 0.01, 7);
  const c = g.constI8("c", [5], [-100, -3, 0, 50, 127], { scale: [0.02], zeroPoint: [3] });
  const s1 = g.act("s1", [1, 3, 4, 5], 0.06, -128);
  g.op(BuiltinOp.ADD, [a, c], [s1], { fusedActivationFunction: 1 }, 2);
  const s2 = g.act("s2", [1, 3, 4, 5], 0.04, -100);
  g.op(BuiltinOp.MUL, [a, b], [s2], { fusedActivationFunction: 3 }, 2);
  const s3 = g.act("s3", [1, 3, 4, 5], 0.08, -40);
  g.op(BuiltinOp.ADD, [s2, a], [s3], { fusedActivationFunction: 0 }, 2);
  const sg = g.act("sigmoid", [1, 3, 4, 5], 1 / 256, -128);
  g.op(BuiltinOp.LOGISTIC, [s3], [sg], {}, 2);
  const th = g.act("tanh", [1, 3, 4, 5], 1 / 128, 0);
  g.op(BuiltinOp.TANH, [s3], [th], {}, 2);
  const gate = g.act("gate", [1, 3, 4, 5], 1 / 200, -5);
  g.op(BuiltinOp.MUL, [sg, th], [gate], { fusedActivationFunction: 0 }, 2);
  const clipped = g.act("clipped", [1, 3, 4, 5], 0.01, 10);
  g.op(BuiltinOp.MUL, [th, b], [clipped], { fusedActivationFunction: 2 }, 2);
  const d = g.constI8("d", [1, 1, 4, 1], [-128, -1, 64, 127], { scale: [0.07], zeroPoint: [-2] });
  const both = g.act("both", [1, 3, 4, 5], 0.12, 4);
  g.op(BuiltinOp.ADD, [b, d], [both], { fusedActivationFunction: 0 }, 2);
  g.inputs = [a, b];
  g.outputs = [gate, clipped, both, s1];
  return g.build();
}

/**
 * float32 [2,6] -> QUANTIZE (clipping range) -> QUANTIZE int8->int8 -> FULLY_CONNECTED (2 rows,
 * per-tensor, no bias) -> RESHAPE [8] -> DEQUANTIZE -> float32 [8].
 */
function floatIoModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.tensor({ name: "x", type: TensorType.FLOAT32, shape: [2, 6] });
  const q1 = g.act("q1", [2, 6], 0.008, 3);
  g.op(BuiltinOp.QUANTIZE, [x], [q1], {}, 1);
  const q2 = g.act("q2", [2, 6], 0.013, -7);
  g.op(BuiltinOp.QUANTIZE, [q1], [q2], {}, 2);
  const w = g.constI8("fc/w", [4, 6], ints(7, 24, -127, 127), { scale: [0.01], zeroPoint: [0] });
  const fc = g.act("fc", [2, 4], 0.05, 1);
  g.op(BuiltinOp.FULLY_CONNECTED, [q2, w, -1], [fc], { fusedActivationFunction: 0, keepNumDims: false }, 4);
  const shape = g.constI32("shape", [1], [8]);
  const flat = g.act("flat", [8], 0.05, 1);
  g.op(BuiltinOp.RESHAPE, [fc, shape], [flat], {}, 1);
  const y = g.tensor({ name: "y", type: TensorType.FLOAT32, shape: [8] });
  g.op(BuiltinOp.DEQUANTIZE, [flat], [y], {}, 2);
  g.inputs = [x];
  g.outputs = [y];
  return g.build();
}

/**
 * Time-major int8 LSTM (3 steps, batch 2, 4 features, 5 cells, cell scale 2^-11, cell clip 1.5,
 * hidden zero point 3) -> FULLY_CONNECTED on the flattened sequence rows -> [6,3]. The state
 * carries over from one invoke to the next.
 */
function lstmModel(): Uint8Array {
  const g = new GraphBuilder();
  const [steps, batches, nIn, nState] = [3, 2, 4, 5];
  const inScale = 0.02;
  const x = g.act("x", [steps, batches, nIn], inScale, -6);
  const inputs = new Array<number>(24).fill(-1);
  inputs[0] = x;
  const gates: [number, number, number, number][] = [[1, 5, 12, 11], [2, 6, 13, 12], [3, 7, 14, 13], [4, 8, 15, 14]];
  for (const [wi, ri, bi, seed] of gates) {
    const ws = 0.004 + 0.002 * seed, rs = 0.006 + 0.001 * seed;
    inputs[wi] = g.constI8(`w${wi}`, [nState, nIn], ints(seed, nState * nIn, -127, 127), { scale: [ws], zeroPoint: [0] });
    inputs[ri] = g.constI8(`r${ri}`, [nState, nState], ints(seed + 50, nState * nState, -127, 127), { scale: [rs], zeroPoint: [0] });
    inputs[bi] = g.constI32(`b${bi}`, [nState], ints(seed + 100, nState, -3000, 3000), { scale: [inScale * ws], zeroPoint: [0] });
  }
  inputs[18] = g.tensor({ name: "h", type: TensorType.INT8, shape: [batches, nState], isVariable: true, quantization: { scale: [1 / 128], zeroPoint: [3] } });
  inputs[19] = g.tensor({ name: "c", type: TensorType.INT16, shape: [batches, nState], isVariable: true, quantization: { scale: [2 ** -11], zeroPoint: [0] } });
  const seq = g.act("seq", [steps, batches, nState], 1 / 128, 3);
  g.op(BuiltinOp.UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, [seq],
    { fusedActivationFunction: 4, cellClip: 1.5, projClip: 0, timeMajor: true, asymmetricQuantizeInputs: false }, 1);
  const w = g.constI8("fc/w", [3, nState], ints(9, 15, -127, 127), { scale: [0.02], zeroPoint: [0] });
  const y = g.act("y", [steps * batches, 3], 0.03, 0);
  g.op(BuiltinOp.FULLY_CONNECTED, [seq, w, -1], [y], { fusedActivationFunction: 0, keepNumDims: false }, 4);
  g.inputs = [x];
  g.outputs = [y, seq];
  return g.build();
}

function selfMadeModels(): { name: string; build: () => Uint8Array; steps: number }[] {
  return [
    { name: "conv variants (dilation 2, RELU_N1_TO_1, depth multiplier 2, pools SAME, FC keep_num_dims, softmax beta 0.7)", build: convVariantsModel, steps: 6 },
    { name: "elementwise (ADD/MUL broadcasting, LOGISTIC, TANH, RELU6, RELU_N1_TO_1)", build: elementwiseModel, steps: 6 },
    { name: "float io (QUANTIZE f32 and int8, FC 2 rows, RESHAPE, DEQUANTIZE)", build: floatIoModel, steps: 6 },
    { name: "LSTM time-major, batch 2, cell clip, state carried over, then FC", build: lstmModel, steps: 6 },
  ];
}


describe("reference interpreter vs qedge on self-made models", () => {
  for (const { name, build, steps } of selfMadeModels()) {
    it(`${name}: ${steps} random inputs, identical on ${BUILDS.join(", ")}`, () => {
      const bytes = build();
      const graph = parseModel(bytes);
      expect(compareSequence(bytes, randomSteps(graph, 77, steps))).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Shared models.

const cases = goldenCases();
const readView = (p: string) => new Uint8Array(readFileSync(p));

describe.skipIf(!SHARED)(`reference interpreter vs TFLM goldens${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  it("found the mlperf-tiny golden cases, all of which the interpreter runs", () => {
    const mlperf = cases.filter((c) => c.suite === "mlperf-tiny");
    expect(mlperf.length).toBeGreaterThanOrEqual(17);
    expect(mlperf.flatMap((c) => missingOps(c.modelPath))).toEqual([]);
  });
  const graphs = new Map<string, ModelGraph>();
  for (const c of cases) {
    const missing = missingOps(c.modelPath);
    it.skipIf(missing.length > 0)(`${c.name}${c.batch > 1 ? ` (${c.batch} rows)` : ""}${skipNote(missing)}`, () => {
      let graph = graphs.get(c.modelPath);
      if (!graph) { graph = parseModel(readView(c.modelPath)); graphs.set(c.modelPath, graph); }
      const input = readView(c.inputPath);
      const golden = readView(c.goldenPath);
      const inN = graph.tensors[graph.inputs[0]].byteLength;
      const outN = graph.tensors[graph.outputs[0]].byteLength;
      expect(input.length).toBe(inN * c.batch);
      expect(golden.length).toBe(outN * c.batch);
      const bad: string[] = [];
      for (let r = 0; r < c.batch; r++) {
        const [out] = referenceRun(graph, [input.subarray(r * inN, (r + 1) * inN)]); // fresh state per row, as TFLM
        const d = firstDiff(new Int8Array(bytesOf(out).buffer), new Int8Array(golden.buffer, r * outN, outN));
        if (d) bad.push(`row ${r}: ${d}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }
});

function sharedModelFiles(): string[] {
  if (!SHARED) return [];
  const out: string[] = [];
  for (const sub of ["models/mlperf-tiny", "models/extra", "models/extra/float-io"]) {
    const dir = join(SHARED, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".tflite")) out.push(join(dir, f));
  }
  return out;
}

/** Random input sets per model: the references are slow, so fewer for the big graphs. */
const RANDOM_STEPS: Record<string, number> = {
  "vww_96_int8.tflite": 2, "person_detect.tflite": 2, "pretrainedResnet_large_int8.tflite": 2,
  "pretrainedResnet_quant.tflite": 3, "kws_ref_model.tflite": 4, "str_ww_ref_model.tflite": 4,
  "dtln_noise_suppression.tflite": 6, "trained_lstm_int8.tflite": 4,
};
const DEFAULT_STEPS = 10;

/** Models whose operators the interpreter does not all evaluate are skipped by name, op listed. */
function missingOps(file: string): string[] {
  return unsupportedOps(parseModel(readView(file)));
}
const skipNote = (missing: string[]) => (missing.length ? ` (skipped: the reference interpreter has no ${missing.join(", ")})` : "");
/** Real inputs with at most this many rows are all used; longer files (AD: 196 rows) give a few. */
const REAL_ROWS = 3;

describe.skipIf(!SHARED)(`qedge vs reference interpreter on every shared model${SHARED ? "" : ` (${NO_SHARED})`}`, () => {
  for (const file of sharedModelFiles()) {
    const name = file.slice(file.indexOf("models/") + 7);
    const nSteps = RANDOM_STEPS[basename(file)] ?? DEFAULT_STEPS;
    const missing = missingOps(file);
    it.skipIf(missing.length > 0)(`${name}: ${nSteps} random inputs in a row${skipNote(missing)}`, () => {
      const bytes = readView(file);
      const graph = parseModel(bytes);
      expect(compareSequence(bytes, randomSteps(graph, 4242, nSteps))).toEqual([]);
    });
    const real = cases.filter((c) => c.modelPath === file);
    if (real.length === 0) continue;
    it.skipIf(missing.length > 0)(`${name}: ${real.length} real inputs (fresh state each)${skipNote(missing)}`, () => {
      const bytes = readView(file);
      const graph = parseModel(bytes);
      const inN = graph.tensors[graph.inputs[0]].byteLength;
      const bad: string[] = [];
      for (const c of real) {
        const input = readView(c.inputPath);
        for (let r = 0; r < Math.min(c.batch, REAL_ROWS); r++) {
          const rows = compareSequence(bytes, [[input.subarray(r * inN, (r + 1) * inN)]]);
          bad.push(...rows.map((b) => `${c.name} row ${r}: ${b}`));
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
