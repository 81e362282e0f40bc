// UNIDIRECTIONAL_SEQUENCE_LSTM (integer 8x8->16): host prepare + kernel against the TypeScript
// reference on random small cells (batch- and time-major, several cell scales, clips and zero
// points, state carried across invokes), on the real LSTM layers of the two LSTM models, a
// hand-derived step, and the TFLite Micro golden output of the whole dtln graph.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUILDS, KernelHarness, rng, randInt, randI8 } from "../helpers/kernel-harness.js";
import { SHARED } from "../helpers/shared.js";
import { TensorType, type ModelGraph, type Tensor } from "../../host/model/types.js";
import { parseModel, loadModelSync, UnsupportedModelError } from "../../host/index.js";
import { prepareLstm, LstmInput } from "../../host/runtime/ops/lstm.js";
import { makeTensors, PreparedOpRunner, type TensorSpec } from "./prepare-harness.js";
import { refLstm, SIGMOID_TABLE_U16, type LstmSpec, type GateSpec } from "../reference/lstm.js";

const GATE_ORDER = ["forget", "input", "cell", "output"] as const;

/** Tensors + operator for a spec, laid out with TFLite's 24 LSTM input slots. */
function buildOp(spec: LstmSpec, extra: { peephole?: boolean; inputType?: number; cellScale?: number } = {}) {
  const { batches, steps, nInput, nState, timeMajor } = spec;
  const seqShape = timeMajor ? [steps, batches] : [batches, steps];
  const specs: TensorSpec[] = [
    { type: extra.inputType ?? TensorType.INT8, shape: [...seqShape, nInput], scale: spec.inScale, zeroPoint: spec.inZp },
    { type: TensorType.INT8, shape: [...seqShape, nState], scale: spec.hiddenScale, zeroPoint: spec.hiddenZp },
    { type: TensorType.INT8, shape: [batches, nState], scale: spec.hiddenScale, zeroPoint: spec.hiddenZp, isVariable: true },
    { type: TensorType.INT16, shape: [batches, nState], scale: extra.cellScale ?? spec.cellScale, zeroPoint: 0, isVariable: true },
  ];
  const inputs = new Array<number>(24).fill(-1);
  inputs[LstmInput.INPUT] = 0;
  inputs[LstmInput.OUTPUT_STATE] = 2;
  inputs[LstmInput.CELL_STATE] = 3;
  const slots = {
    forget: [LstmInput.INPUT_TO_FORGET_W, LstmInput.RECURRENT_TO_FORGET_W, LstmInput.FORGET_GATE_BIAS],
    input: [LstmInput.INPUT_TO_INPUT_W, LstmInput.RECURRENT_TO_INPUT_W, LstmInput.INPUT_GATE_BIAS],
    cell: [LstmInput.INPUT_TO_CELL_W, LstmInput.RECURRENT_TO_CELL_W, LstmInput.CELL_GATE_BIAS],
    output: [LstmInput.INPUT_TO_OUTPUT_W, LstmInput.RECURRENT_TO_OUTPUT_W, LstmInput.OUTPUT_GATE_BIAS],
  };
  for (const name of GATE_ORDER) {
    const g: GateSpec = spec[name];
    const [wi, ri, bi] = slots[name];
    inputs[wi] = specs.push({ type: TensorType.INT8, shape: [nState, nInput], scale: g.wScale, data: g.w }) - 1;
    inputs[ri] = specs.push({ type: TensorType.INT8, shape: [nState, nState], scale: g.rScale, data: g.r }) - 1;
    inputs[bi] = specs.push({ type: TensorType.INT32, shape: [nState], scale: spec.inScale * g.wScale, data: g.bias }) - 1;
  }
  if (extra.peephole) {
    inputs[LstmInput.CELL_TO_FORGET_W] = specs.push({ type: TensorType.INT16, shape: [nState], scale: 1, data: new Int16Array(nState) }) - 1;
  }
  const options = {
    fusedActivationFunction: spec.cellGateSigmoid ? 6 : 4, cellClip: spec.cellClip, projClip: 0, timeMajor,
    asymmetricQuantizeInputs: false, diagonalRecurrentTensors: false,
  };
  return { tensors: makeTensors(specs), op: { inputs, outputs: [1], options, opName: "UNIDIRECTIONAL_SEQUENCE_LSTM" } };
}

/** Runs the kernel for `x` from the given state; returns output and the updated state. */
function runKernel(k: KernelHarness, runner: PreparedOpRunner, x: Int8Array, hidden: Int8Array, cell: Int16Array) {
  const [xa, ya, ha, ca] = [0, 1, 2, 3].map((i) => runner.addr(i)); // allocate before taking views
  const mem = k.k.memory.buffer;
  new Int8Array(mem, xa, x.length).set(x);
  new Int8Array(mem, ha, hidden.length).set(hidden);
  new Int16Array(mem, ca, cell.length).set(cell);
  runner.run();
  return { out: k.readI8(ya, runner.tensors[1].byteLength), hidden: k.readI8(ha, hidden.length), cell: k.readI16(ca, cell.length) };
}

function randomGate(r: () => number, nInput: number, nState: number, biasMag: number): GateSpec {
  return {
    w: randI8(r, nState * nInput, -127, 127), wScale: 0.002 + 0.03 * r(),
    r: randI8(r, nState * nState, -127, 127), rScale: 0.002 + 0.03 * r(),
    bias: Int32Array.from({ length: nState }, () => randInt(r, -biasMag, biasMag)),
  };
}

function randomSpec(r: () => number): LstmSpec {
  const nInput = randInt(r, 1, 9);
  const nState = randInt(r, 1, 7);
  const biasMag = [100, 5000, 200000][randInt(r, 0, 2)];
  return {
    batches: randInt(r, 1, 3), steps: randInt(r, 1, 5), nInput, nState, timeMajor: r() < 0.3,
    inScale: [1 / 255, 0.0686, 0.02, 0.3][randInt(r, 0, 3)], inZp: randInt(r, -128, 127),
    hiddenScale: [0.00765, 0.0074, 1 / 128, 0.03][randInt(r, 0, 3)], hiddenZp: randInt(r, -20, 20),
    cellScale: 2 ** -randInt(r, 9, 15), cellClip: [0, 10, 1, 100][randInt(r, 0, 3)], cellGateSigmoid: r() < 0.1,
    forget: randomGate(r, nInput, nState, biasMag), input: randomGate(r, nInput, nState, biasMag),
    cell: randomGate(r, nInput, nState, biasMag), output: randomGate(r, nInput, nState, biasMag),
  };
}

describe("int16 sigmoid table (reference copy)", () => {
  it("is TFLite's sigmoid(i/24) in 0.16: monotonic and within 1 of the formula", () => {
    expect(SIGMOID_TABLE_U16).toHaveLength(256);
    SIGMOID_TABLE_U16.forEach((v, i) => {
      expect(Math.abs(v - 65536 / (1 + Math.exp(-i / 24)))).toBeLessThan(1.6);
      if (i > 0) expect(v).toBeGreaterThanOrEqual(SIGMOID_TABLE_U16[i - 1]);
    });
  });
});

describe.each(BUILDS)("UNIDIRECTIONAL_SEQUENCE_LSTM kernel (%s)", (build) => {
  const k = new KernelHarness(build);

  it("matches the reference on random cells, carrying state across invokes", () => {
    const r = rng(2024);
    for (let n = 0; n < 60; n++) {
      const spec = randomSpec(r);
      const { tensors, op } = buildOp(spec);
      const runner = new PreparedOpRunner(k, prepareLstm, tensors, op);
      const cells = spec.batches * spec.nState;
      const refHidden = randI8(r, cells);
      const refCell = Int16Array.from({ length: cells }, () => randInt(r, -32768, 32767));
      let hidden = refHidden.slice();
      let cell = refCell.slice();
      for (let invoke = 0; invoke < 2; invoke++) {
        const x = randI8(r, spec.batches * spec.steps * spec.nInput);
        const want = refLstm(spec, x, refHidden, refCell);
        const got = runKernel(k, runner, x, hidden, cell);
        const what = `case ${n} invoke ${invoke}: ${JSON.stringify({ ...spec, forget: 0, input: 0, cell: 0, output: 0 })}`;
        expect(Array.from(got.out), what).toEqual(Array.from(want));
        expect(Array.from(got.cell), what).toEqual(Array.from(refCell));
        expect(Array.from(got.hidden), what).toEqual(Array.from(refHidden));
        hidden = got.hidden;
        cell = got.cell;
      }
    }
  });

  it("computes a hand-derived step: zero weights, cell 2.0 -> 1.0, h = zp + round(tanh(1) / 2 * 128)", () => {
    const zero = (): GateSpec => ({ w: new Int8Array(1), wScale: 0.01, r: new Int8Array(1), rScale: 0.01, bias: new Int32Array(1) });
    const spec: LstmSpec = {
      batches: 1, steps: 1, nInput: 1, nState: 1, timeMajor: false, inScale: 0.1, inZp: 0,
      hiddenScale: 1 / 128, hiddenZp: 3, cellScale: 2 ** -11, cellClip: 0,
      forget: zero(), input: zero(), cell: zero(), output: zero(),
    };
    const { tensors, op } = buildOp(spec);
    const runner = new PreparedOpRunner(k, prepareLstm, tensors, op);
    // All gates: sigmoid(0) = 0.5 (16384), tanh(0) = 0. Cell: 0.5 * 4096 = 2048 (1.0).
    // tanh(1.0) = 24956 / 2^15; h = 3 + round(24956 * 16384 / 2^30 * 128) = 3 + 49.
    const got = runKernel(k, runner, Int8Array.of(77), Int8Array.of(-50), Int16Array.of(4096));
    expect(Array.from(got.cell)).toEqual([2048]);
    expect(Array.from(got.hidden)).toEqual([52]);
    expect(Array.from(got.out)).toEqual([52]);
  });

  it("clamps the cell state to the quantized cell clip (10 at 2^-12 is 32767, symmetric)", () => {
    const r = rng(3);
    const spec = { ...randomSpec(r), cellScale: 2 ** -12, cellClip: 10, batches: 1, steps: 1 };
    // Forget and input gates saturate at ~1, the cell gate at ~-1: f * c + i * g overflows
    // below -32768 and the clip must bring it to -32767.
    // (A bias worth +-32 in real terms: far beyond the Q3.12 range of +-8, no int32 overflow.)
    const worth = (g: GateSpec, v: number) => g.bias.fill(Math.round(v / (spec.inScale * g.wScale)));
    worth(spec.forget, 32);
    worth(spec.input, 32);
    worth(spec.cell, -32);
    spec.cellGateSigmoid = false;
    const { tensors, op } = buildOp(spec);
    const runner = new PreparedOpRunner(k, prepareLstm, tensors, op);
    const cells = spec.nState;
    const x = randI8(r, spec.nInput);
    const refHidden = new Int8Array(cells).fill(spec.hiddenZp);
    const refCell = new Int16Array(cells).fill(-32768);
    const want = refLstm(spec, x, refHidden, refCell);
    const got = runKernel(k, runner, x, new Int8Array(cells).fill(spec.hiddenZp), new Int16Array(cells).fill(-32768));
    expect(Array.from(got.out)).toEqual(Array.from(want));
    expect(Array.from(got.cell)).toEqual(Array.from(refCell));
    expect(Array.from(got.cell)).toEqual(new Array(cells).fill(-32767));
  });

  it("rejects LSTM variants and non-integer / non-power-of-two cell setups", () => {
    const spec = randomSpec(rng(4));
    const tryPrepare = (extra: Parameters<typeof buildOp>[1]) => {
      const { tensors, op } = buildOp(spec, extra);
      return () => new PreparedOpRunner(k, prepareLstm, tensors, op);
    };
    expect(tryPrepare({ peephole: true })).toThrow(/peephole/);
    expect(tryPrepare({ inputType: TensorType.FLOAT32 })).toThrow(UnsupportedModelError);
    expect(tryPrepare({ cellScale: 0.0003 })).toThrow(/power of two/);
  });
});

/** LstmSpec of a model's LSTM operator, with the graph's own tensors. */
function specFromGraph(g: ModelGraph, opIndex: number): LstmSpec {
  const op = g.operators[opIndex];
  const t = (k: number): Tensor => g.tensors[op.inputs[k]];
  const i8 = (x: Tensor) => new Int8Array(x.data!.buffer, x.data!.byteOffset, x.byteLength);
  const i32 = (x: Tensor) => new Int32Array(x.data!.slice().buffer);
  const gate = (w: number, r: number, b: number): GateSpec => ({
    w: i8(t(w)), wScale: t(w).quantization!.scale[0], r: i8(t(r)), rScale: t(r).quantization!.scale[0], bias: i32(t(b)),
  });
  const input = t(LstmInput.INPUT);
  const hidden = t(LstmInput.OUTPUT_STATE);
  return {
    batches: input.shape[0], steps: input.shape[1], nInput: input.shape[2], nState: hidden.shape[1], timeMajor: false,
    inScale: input.quantization!.scale[0], inZp: input.quantization!.zeroPoint[0],
    hiddenScale: hidden.quantization!.scale[0], hiddenZp: hidden.quantization!.zeroPoint[0],
    cellScale: t(LstmInput.CELL_STATE).quantization!.scale[0], cellClip: op.options.cellClip as number,
    forget: gate(LstmInput.INPUT_TO_FORGET_W, LstmInput.RECURRENT_TO_FORGET_W, LstmInput.FORGET_GATE_BIAS),
    input: gate(LstmInput.INPUT_TO_INPUT_W, LstmInput.RECURRENT_TO_INPUT_W, LstmInput.INPUT_GATE_BIAS),
    cell: gate(LstmInput.INPUT_TO_CELL_W, LstmInput.RECURRENT_TO_CELL_W, LstmInput.CELL_GATE_BIAS),
    output: gate(LstmInput.INPUT_TO_OUTPUT_W, LstmInput.RECURRENT_TO_OUTPUT_W, LstmInput.OUTPUT_GATE_BIAS),
  };
}

const extraModel = (name: string) => new Uint8Array(readFileSync(join(SHARED!, "models", "extra", name)));

describe.skipIf(!SHARED).each(BUILDS)("LSTM on the real models (%s)", (build) => {
  const k = new KernelHarness(build);

  for (const [file, opIndexes] of [["trained_lstm_int8.tflite", [0]], ["dtln_noise_suppression.tflite", [0, 1]]] as const) {
    for (const opIndex of opIndexes) {
      it(`${file} operator ${opIndex}: matches the reference over 3 invokes from the zero-point state`, () => {
        const g = parseModel(extraModel(file));
        const op = g.operators[opIndex];
        const spec = specFromGraph(g, opIndex);
        const runner = new PreparedOpRunner(k, prepareLstm, g.tensors, op);
        const r = rng(opIndex + 17);
        const refHidden = new Int8Array(spec.batches * spec.nState).fill(spec.hiddenZp);
        const refCell = new Int16Array(spec.batches * spec.nState);
        let hidden = refHidden.slice();
        let cell = refCell.slice();
        for (let invoke = 0; invoke < 3; invoke++) {
          const x = randI8(r, spec.batches * spec.steps * spec.nInput);
          // Runner tensors are the graph's: input op.inputs[0], output op.outputs[0].
          const [xa, ya, ha, ca] = [op.inputs[0], op.outputs[0], op.inputs[18], op.inputs[19]].map((i) => runner.addr(i));
          const mem = k.k.memory.buffer;
          new Int8Array(mem, xa, x.length).set(x);
          new Int8Array(mem, ha, hidden.length).set(hidden);
          new Int16Array(mem, ca, cell.length).set(cell);
          runner.run();
          const want = refLstm(spec, x, refHidden, refCell);
          expect(Array.from(k.readI8(ya, want.length)), `invoke ${invoke}`).toEqual(Array.from(want));
          hidden = k.readI8(ha, hidden.length);
          cell = k.readI16(ca, cell.length);
          expect(Array.from(cell)).toEqual(Array.from(refCell));
          expect(Array.from(hidden)).toEqual(Array.from(refHidden));
        }
        // The outputs are not degenerate: the gates really vary.
        expect(new Set(hidden).size).toBeGreaterThan(3);
      });
    }
  }

  it("dtln (LSTM, LSTM, FC, LOGISTIC) reproduces the TFLite Micro golden output", () => {
    const m = loadModelSync(extraModel("dtln_noise_suppression.tflite"), { kernels: build });
    const input = new Int8Array(readFileSync(join(SHARED!, "models", "extra", "inputs", "dtln_feature_data_1x1x257_int8.bin")));
    const golden = new Int8Array(readFileSync(join(SHARED!, "models", "extra", "golden-tflm", "dtln_feature_data.out.bin")));
    const iv = m.input(0);
    const ov = m.output(0);
    for (let pass = 0; pass < 2; pass++) {
      m.reset(); // the golden comes from the initial (zero-point) state
      new Int8Array(iv.buffer, iv.byteOffset, iv.byteLength).set(input);
      m.invoke();
      expect(Array.from(new Int8Array(ov.buffer, ov.byteOffset, ov.byteLength))).toEqual(Array.from(golden));
    }
    expect(new Set(golden).size).toBeGreaterThan(10);
  });
});
