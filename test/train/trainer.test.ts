// model.trainer(): gradients through the int8-frozen prefix against an f64 computation on the
// reference interpreter's int8 features, the memory plan against what is allocated, budget
// errors, checkpoint and restore exactness, commit refusal, export structure and hot-swap (the
// running model checked against the reference interpreter on the exported graph).
import { describe, expect, test } from "vitest";
import { loadModelSync, parseModel, finetuneOnDevice, InvalidArgumentError, MemoryBudgetError, UnsupportedModelError } from "../../host/index.js";
import type { Model } from "../../host/index.js";
import { BuiltinOp, type ModelGraph } from "../../host/model/types.js";
import { writeModel } from "../../host/model/writer.js";
import { decodeCheckpoint } from "../../host/train/checkpoint.js";
import { requantizeWeights, requantizeBias, graphToDesc } from "../../host/train/requantize.js";
import type { TrainData } from "../../host/train/trainer.js";
import { referenceRun, type RefValue } from "../reference/interpreter.js";
import { TINY_AUTOENCODER, TINY_CLASSIFIER, TRAIN_BUILDS_HERE, randomInt8, tinyInt8Model } from "./helpers.js";

const CLASSIFIER = tinyInt8Model(TINY_CLASSIFIER, 11, true);
const AUTOENCODER = tinyInt8Model(TINY_AUTOENCODER, 12, false);
const IN = 8 * 8 * 2;

/** Random inputs labelled by the int8 model itself after a fixed label permutation (a task the head must re-learn). */
function permutedTask(seed: number, n: number): { inputs: Int8Array[]; labels: number[] } {
  const m = loadModelSync(CLASSIFIER);
  const inputs = randomInt8(seed, n, IN);
  const labels = inputs.map((x) => {
    (m.input(0) as Int8Array).set(x);
    m.invoke();
    const y = m.output(0) as Int8Array;
    let best = 0;
    for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
    return (best + 1) % 4;
  });
  return { inputs, labels };
}

function outputsOf(m: Model, inputs: Int8Array[]): Int8Array[] {
  return inputs.map((x) => {
    (m.input(0) as Int8Array).set(x);
    m.invoke();
    return (m.output(0) as Int8Array).slice();
  });
}

const dequant = (g: ModelGraph, t: number, v: ArrayLike<number>, i: number) => {
  const q = g.tensors[t].quantization!;
  return q.scale[q.scale.length === 1 ? 0 : i] * (v[i] - (q.zeroPoint[0] ?? 0));
};

function lastFc(g: ModelGraph) {
  const ops = g.operators.filter((o) => o.opcode === BuiltinOp.FULLY_CONNECTED);
  return ops[ops.length - 1];
}

describe.each(TRAIN_BUILDS_HERE)("trainer (%s training build)", (trainBuild) => {
  test("head gradients through the int8-frozen features match an f64 softmax cross-entropy on reference features", () => {
    const model = loadModelSync(CLASSIFIER);
    const g = parseModel(CLASSIFIER);
    const head = lastFc(g);
    const t = model.trainer({ trainable: "head", trainBuild, batchSize: 8 });
    expect(t.parameters.filter((p) => p.trainable).map((p) => p.name)).toEqual([`op${head.index}.weight`, `op${head.index}.bias`]);
    const batch = { inputs: randomInt8(5, 6, IN), labels: [0, 3, 1, 2, 2, 1] };
    const loss = t.computeGradients(batch);

    // Independent: the head's int8 input from the reference interpreter, dequantized; the head's
    // weights dequantized from the file; loss and gradients in f64.
    const xT = head.inputs[0], wT = head.inputs[1], bT = head.inputs[2];
    const [O, I] = g.tensors[wT].shape;
    const wq = new Int8Array(g.tensors[wT].data!.slice().buffer), bq = new Int32Array(g.tensors[bT].data!.slice().buffer);
    const W = Array.from(wq, (_, i) => dequant(g, wT, wq, i)), B = Array.from(bq, (_, i) => dequant(g, bT, bq, i));
    const dW = new Float64Array(O * I), dB = new Float64Array(O);
    let refLoss = 0;
    const n = batch.inputs.length;
    batch.inputs.forEach((input, s) => {
      let feat: RefValue | undefined;
      referenceRun(g, [input], undefined, (_, values) => { feat = values.get(xT) ?? feat; });
      const x = Array.from({ length: I }, (_, i) => dequant(g, xT, feat!, i));
      const z = Array.from({ length: O }, (_, o) => B[o] + x.reduce((a, xi, i) => a + W[o * I + i] * xi, 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m)), sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / sum);
      refLoss += -Math.log(p[batch.labels[s]]) / n;
      for (let o = 0; o < O; o++) {
        const d = (p[o] - (o === batch.labels[s] ? 1 : 0)) / n;
        dB[o] += d;
        for (let i = 0; i < I; i++) dW[o * I + i] += d * x[i];
      }
    });
    expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 * Math.max(1, refLoss));
    const grads = t.gradients();
    const gw = grads.get(`op${head.index}.weight`)!, gb = grads.get(`op${head.index}.bias`)!;
    const scale = Math.max(...Array.from(dW, Math.abs), ...Array.from(dB, Math.abs));
    expect(scale).toBeGreaterThan(1e-4); // the check below is not vacuous
    gw.forEach((v, i) => expect(Math.abs(v - dW[i])).toBeLessThan(1e-5 * scale));
    gb.forEach((v, i) => expect(Math.abs(v - dB[i])).toBeLessThan(1e-5 * scale));
  });

  test("the memory plan equals what is allocated, for every trainable set and optimizer", () => {
    const cases = [
      { model: CLASSIFIER, trainable: "head" as const, optimizer: "adam" as const },
      { model: CLASSIFIER, trainable: "bias" as const, optimizer: "sgd" as const, momentum: 0.9 },
      { model: CLASSIFIER, trainable: { last: 2 }, optimizer: "sgd" as const },
      { model: CLASSIFIER, trainable: ["op0"], optimizer: "adam" as const },
      { model: AUTOENCODER, trainable: "head" as const, optimizer: "adam" as const },
    ];
    for (const c of cases) {
      const t = loadModelSync(c.model).trainer({ ...c, trainBuild, batchSize: 5 });
      const r = t.memoryReport();
      const label = JSON.stringify(c.trainable);
      expect(r.used.trainingHeapBytes + r.used.hostBytes, label).toBe(r.planned.totalBytes);
      const p = r.planned;
      expect(p.moduleBytes + p.parameterBytes + p.gradientBytes + p.optimizerBytes + p.activationBytes + p.workspaceBytes + p.hostBytes, label)
        .toBe(p.totalBytes);
      // f32 copies exist only for the section: head-only keeps 4 bytes per head value
      if (c.trainable === "head") {
        const values = t.parameters.reduce((a, q) => a + q.shape.reduce((x, y) => x * y, 1), 0);
        expect(p.parameterBytes).toBe(4 * values);
      }
    }
  });

  test("a plan over the budget fails up front with MemoryBudgetError; the feature cache is budgeted too", () => {
    const model = loadModelSync(CLASSIFIER);
    const full = model.trainer({ trainable: "bias", trainBuild }).memoryReport().planned.totalBytes;
    expect(() => model.trainer({ trainable: "bias", trainBuild, memoryBudgetBytes: full - 1 })).toThrow(MemoryBudgetError);
    try {
      model.trainer({ trainable: "bias", trainBuild, memoryBudgetBytes: 1000 });
    } catch (e) {
      expect(e).toBeInstanceOf(MemoryBudgetError);
      expect((e as MemoryBudgetError).neededBytes).toBe(full);
      expect((e as Error).message).toMatch(/activations \d+ B/);
    }
    // fits without a cache, not with one
    const head = model.trainer({ trainable: "head", trainBuild }).memoryReport().planned.totalBytes;
    const data = permutedTask(1, 40);
    const mk = () => model.trainer({ trainable: "head", trainBuild, memoryBudgetBytes: head + 10 });
    expect(() => mk().fit(data, { epochs: 1, cacheFeatures: true })).toThrow(MemoryBudgetError);
    const t = mk();
    expect(t.fit(data, { epochs: 1 }).featuresCached).toBe(false);
    expect(t.memoryReport().used.totalBytes).toBeLessThanOrEqual(head + 10);
    // with room for it, auto caches and the cache is reported
    const t2 = model.trainer({ trainable: "head", trainBuild });
    expect(t2.fit(data, { epochs: 1 }).featuresCached).toBe(true);
    const feat = t2.section.spec.input.reduce((a, b) => a * b, 1);
    expect(t2.memoryReport().used.featureCacheBytes).toBe(40 * feat);
    expect(t2.memoryReport().planned.totalBytes).toBe(t2.memoryReport().used.totalBytes);
  });

  test("checkpoint round trip: resuming from a checkpoint continues bit-identically", () => {
    const model = loadModelSync(CLASSIFIER);
    const t = model.trainer({ trainable: { last: 2 }, trainBuild, lr: 0.01, batchSize: 4 });
    const data = permutedTask(2, 20);
    const batches = [0, 4, 8, 12, 16].map((i) => ({ inputs: data.inputs.slice(i, i + 4), labels: data.labels!.slice(i, i + 4) }));
    t.step(batches[0]); t.step(batches[1]);
    const ckpt = t.checkpoint();
    const atCkpt = t.weights();
    for (const b of batches.slice(2)) t.step(b);
    const direct = t.weights();
    t.restore(ckpt);
    for (const [k, v] of t.weights()) expect(Buffer.from(v.buffer).equals(Buffer.from(atCkpt.get(k)!.buffer)), k).toBe(true);
    expect(t.steps).toBe(2);
    for (const b of batches.slice(2)) t.step(b);
    for (const [k, v] of t.weights()) expect(Buffer.from(v.buffer).equals(Buffer.from(direct.get(k)!.buffer)), k).toBe(true);

    // self-describing: magic, version, JSON header listing the tensors
    expect(new TextDecoder().decode(ckpt.subarray(0, 8))).toBe("QEDGECKP");
    const { header, tensors } = decodeCheckpoint(ckpt);
    expect(header.format).toBe("qedge.trainer.checkpoint");
    expect(header.version).toBe(1);
    expect(header.optimizer.name).toBe("adam");
    expect(header.optimizer.scalars.t).toBe(2);
    expect(header.model.trainable).toEqual(t.parameters.filter((p) => p.trainable).map((p) => p.name));
    for (const p of t.parameters.filter((q) => q.trainable)) {
      expect(tensors.get(p.name)!.length).toBe(p.shape.reduce((a, b) => a * b, 1));
      expect(tensors.has(`optimizer/${p.name}.m`) && tensors.has(`optimizer/${p.name}.v`)).toBe(true);
    }
  });

  test("checkpoints from another trainable set or corrupted bytes are refused with typed errors", () => {
    const model = loadModelSync(CLASSIFIER);
    const a = model.trainer({ trainable: "head", trainBuild });
    const b = model.trainer({ trainable: { last: 2 }, trainBuild });
    expect(() => b.restore(a.checkpoint())).toThrow(/different model or trainable set/);
    const c = a.checkpoint();
    expect(() => a.restore(c.subarray(0, 12))).toThrow(InvalidArgumentError);
    const bad = c.slice(); bad[0] = 0x00;
    expect(() => a.restore(bad)).toThrow(/signature/);
    const v2 = c.slice(); v2[8] = 2;
    expect(() => a.restore(v2)).toThrow(/version 2/);
    const sgd = model.trainer({ trainable: "head", trainBuild, optimizer: "sgd" });
    expect(() => sgd.restore(c)).toThrow(/optimizer 'adam'/);
  });

  test("restore() brings back the original weights and running model exactly, even after a commit", () => {
    const model = loadModelSync(CLASSIFIER);
    const probe = randomInt8(9, 12, IN);
    const original = outputsOf(model, probe);
    const t = model.trainer({ trainable: "bias", trainBuild, lr: 0.05 });
    const w0 = t.weights();
    const data = permutedTask(3, 16);
    t.fit(data, { epochs: 3 });
    expect(t.commit({ force: true }).committed).toBe(true);
    expect(outputsOf(model, probe)).not.toEqual(original);
    t.restore();
    for (const [k, v] of t.weights()) expect(Buffer.from(v.buffer).equals(Buffer.from(w0.get(k)!.buffer)), k).toBe(true);
    expect(outputsOf(model, probe)).toEqual(original);
    const g0 = parseModel(CLASSIFIER);
    model.graph.tensors.forEach((tt, i) => expect(tt.data && Buffer.from(tt.data).equals(Buffer.from(g0.tensors[i].data!)) || tt.data === g0.tensors[i].data).toBe(true));
    expect(t.steps).toBe(0);
    // and training again from there is reproducible
    t.fit(data, { epochs: 1 });
    const again = model.trainer({ trainable: "bias", trainBuild, lr: 0.05 });
    again.fit(data, { epochs: 1 });
    for (const [k, v] of again.weights()) expect(Array.from(t.weights().get(k)!)).toEqual(Array.from(v));
  });

  test("commit is refused when the held-out metric drops, unless forced; the running model is untouched", () => {
    const model = loadModelSync(CLASSIFIER);
    const probe = randomInt8(10, 8, IN);
    const original = outputsOf(model, probe);
    const truth = permutedTask(4, 60);
    // Held-out labels = the model's own predictions (accuracy 1 before); train on different labels.
    const validation: TrainData = { inputs: truth.inputs, labels: truth.labels!.map((l) => (l + 3) % 4) };
    const t = model.trainer({ trainable: "head", trainBuild, lr: 0.05, validation });
    expect(() => model.trainer({ trainBuild }).commit()).toThrow(/held-out data/);
    t.fit(truth, { epochs: 15, validation: null });
    const r = t.commit();
    expect(r.before).toBe(1);
    expect(r.after).toBeLessThan(r.before);
    expect(r.committed).toBe(false);
    expect(r.reason).toMatch(/worse/);
    expect(outputsOf(model, probe)).toEqual(original);
    const forced = t.commit({ force: true });
    expect(forced.committed).toBe(true);
    expect(forced.forced).toBe(true);
    expect(outputsOf(model, probe)).not.toEqual(original);
  });

  test("commit accepts an improvement and hot-swaps: the running model equals the reference interpreter on the exported graph", () => {
    const model = loadModelSync(CLASSIFIER);
    const task = permutedTask(5, 120);
    const train = { inputs: task.inputs.slice(0, 80), labels: task.labels!.slice(0, 80) };
    const validation = { inputs: task.inputs.slice(80), labels: task.labels!.slice(80) };
    const t = model.trainer({ trainable: "head", trainBuild, lr: 0.05, validation });
    const before = t.evaluate(validation, { on: "deployed" }).value;
    t.fit(train, { epochs: 20 });
    const r = t.commit();
    expect(r.committed).toBe(true);
    expect(r.after).toBeGreaterThan(before);
    expect(t.evaluate(validation, { on: "deployed" }).value).toBe(r.after);
    const g = parseModel(t.export());
    const probe = randomInt8(11, 6, IN);
    const got = outputsOf(model, probe);
    probe.forEach((x, i) => expect(Array.from(got[i])).toEqual(Array.from(referenceRun(g, [x])[0])));
  });

  test("export: frozen tensors bit-identical, trained ones requantized, parses and runs; no steps = same tensors", () => {
    const model = loadModelSync(CLASSIFIER);
    const g0 = parseModel(CLASSIFIER);
    const t = model.trainer({ trainable: { last: 2 }, trainBuild, lr: 0.02 });
    const untouched = parseModel(t.export());
    untouched.tensors.forEach((tt, i) => {
      expect(tt.quantization).toEqual(g0.tensors[i].quantization);
      expect(tt.data ? Array.from(tt.data) : null).toEqual(g0.tensors[i].data ? Array.from(g0.tensors[i].data!) : null);
    });
    t.fit(permutedTask(6, 32), { epochs: 5 });
    const g1 = parseModel(t.export());
    const trained = new Set(t.section.trainableOps.flatMap((op) => g0.operators[op].inputs.slice(1)));
    let changed = 0;
    g1.tensors.forEach((tt, i) => {
      const same = JSON.stringify(tt.quantization) === JSON.stringify(g0.tensors[i].quantization) &&
        (tt.data ? Buffer.from(tt.data).equals(Buffer.from(g0.tensors[i].data!)) : g0.tensors[i].data === null);
      if (!trained.has(i)) expect(same, `tensor ${i} ${tt.name}`).toBe(true);
      else if (!same) changed++;
    });
    expect(changed).toBeGreaterThan(0);
    expect(g1.operators.map((o) => [o.opcode, o.inputs, o.outputs])).toEqual(g0.operators.map((o) => [o.opcode, o.inputs, o.outputs]));
    const m = loadModelSync(t.export());
    const x = randomInt8(12, 1, IN)[0];
    expect(Array.from(outputsOf(m, [x])[0])).toEqual(Array.from(referenceRun(g1, [x])[0]));
  });

  test("autoencoder: mean squared reconstruction error, targets = inputs by default", () => {
    const model = loadModelSync(AUTOENCODER);
    const inputs = randomInt8(13, 64, 12).map((x) => x.map((v) => v >> 2)); // a narrower distribution than calibration
    const train = { inputs: inputs.slice(0, 48) }, validation = { inputs: inputs.slice(48) };
    const t = model.trainer({ trainable: "head", trainBuild, lr: 0.01, validation });
    expect(t.loss).toBe("mse");
    expect(t.metric.name).toBe("reconstruction_mse");
    const before = t.evaluate(validation, { on: "deployed" });
    expect(before.higherIsBetter).toBe(false);
    // independent: the deployed output vs the dequantized input
    const g = parseModel(AUTOENCODER);
    let ref = 0;
    for (const x of validation.inputs) {
      const y = referenceRun(g, [x])[0];
      let s = 0;
      for (let k = 0; k < 12; k++) {
        const target = Math.fround(dequant(g, g.inputs[0], x, k));
        const d = dequant(g, g.outputs[0], y, k) - target;
        s += d * d;
      }
      ref += s / 12 / validation.inputs.length;
    }
    expect(before.value).toBeCloseTo(ref, 5);
    t.fit(train, { epochs: 40 });
    const r = t.commit();
    expect(r.committed).toBe(true);
    expect(r.after).toBeLessThan(r.before);
  });

  test("callbacks, early stop and a custom loss equal to the built-in cross-entropy", () => {
    const model = loadModelSync(CLASSIFIER);
    const data = permutedTask(7, 24);
    const steps: number[] = [], epochs: number[] = [];
    const t = model.trainer({
      trainable: "head", trainBuild, batchSize: 4,
      onStep: (s) => steps.push(s.step), onEpoch: (e) => epochs.push(e.epoch),
      shouldStop: (s) => s.phase === "step" && s.step >= 9,
    });
    const r = t.fit(data, { epochs: 5 });
    expect(r.stopped).toBe(true);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epochs).toEqual([1, 2]);

    const ce = (out: Float32Array, b: { n: number; labels: Int32Array | null }, grad: Float32Array) => {
      let loss = 0;
      for (let j = 0; j < b.n; j++) {
        const z = out.subarray(j * 4, j * 4 + 4), m = Math.max(...z);
        const e = Array.from(z, (v) => Math.exp(v - m)), s = e.reduce((a, c) => a + c, 0);
        loss += (Math.log(s) - (z[b.labels![j]] - m)) / b.n;
        for (let k = 0; k < 4; k++) grad[j * 4 + k] = (e[k] / s - (k === b.labels![j] ? 1 : 0)) / b.n;
      }
      return loss;
    };
    const custom = model.trainer({ trainable: "head", trainBuild, loss: ce });
    const builtin = model.trainer({ trainable: "head", trainBuild });
    const batch = { inputs: data.inputs.slice(0, 8), labels: data.labels!.slice(0, 8) };
    expect(custom.computeGradients(batch)).toBeCloseTo(builtin.computeGradients(batch), 5);
    const gc = custom.gradients(), gb = builtin.gradients();
    for (const [k, v] of gb) v.forEach((x, i) => expect(Math.abs(gc.get(k)![i] - x)).toBeLessThan(1e-6));
  });
});

describe("trainer options and data errors", () => {
  test("trainable sets resolve by op name, tensor name, head, bias and last k", () => {
    const model = loadModelSync(CLASSIFIER);
    const g = model.graph;
    const kinds: number[] = [BuiltinOp.CONV_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.FULLY_CONNECTED];
    const withWeights = g.operators.filter((o) => kinds.includes(o.opcode)).map((o) => o.index);
    const names = (t: ReturnType<Model["trainer"]>) => t.parameters.filter((p) => p.trainable).map((p) => p.name);
    expect(names(model.trainer({ trainable: "bias" }))).toEqual(withWeights.map((i) => `op${i}.bias`));
    expect(names(model.trainer({ trainable: { last: 2 } }))).toEqual(withWeights.slice(-2).flatMap((i) => [`op${i}.weight`, `op${i}.bias`]));
    const w = g.tensors[g.operators[withWeights[1]].inputs[1]].name;
    expect(names(model.trainer({ trainable: [w] }))).toEqual([`op${withWeights[1]}.weight`]);
    expect(names(model.trainer({ trainable: [`op${withWeights[0]}.bias`] }))).toEqual([`op${withWeights[0]}.bias`]);
    // the section starts at the first trainable layer; layers before it are frozen
    expect(model.trainer({ trainable: "head" }).section.firstOp).toBe(withWeights[withWeights.length - 1]);
    expect(model.trainer({ trainable: "bias" }).section.boundaryOp).toBe(-1);
  });

  test("bad options and data get typed errors", () => {
    const model = loadModelSync(CLASSIFIER);
    expect(() => model.trainer({ trainable: ["nope"] })).toThrow(/no layer named 'nope'/);
    expect(() => model.trainer({ trainable: ["op99"] })).toThrow(InvalidArgumentError);
    expect(() => model.trainer({ trainable: { last: 0 } })).toThrow(InvalidArgumentError);
    expect(() => model.trainer({ trainable: [] })).toThrow(InvalidArgumentError);
    expect(() => model.trainer({ optimizer: "rmsprop" as "sgd" })).toThrow(InvalidArgumentError);
    expect(() => model.trainer({ batchSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => model.trainer({ memoryBudgetBytes: -5 })).toThrow(InvalidArgumentError);
    const t = model.trainer({ batchSize: 4 });
    expect(() => t.step({ inputs: [new Int8Array(5)], labels: [0] })).toThrow(/128 int8 bytes/);
    expect(() => t.step({ inputs: randomInt8(1, 2, IN), labels: [0] })).toThrow(/1 labels for 2 inputs/);
    expect(() => t.step({ inputs: randomInt8(1, 1, IN), labels: [4] })).toThrow(/outside 0..3/);
    expect(() => t.step({ inputs: randomInt8(1, 1, IN) })).toThrow(/labels are needed/);
    expect(() => t.step({ inputs: randomInt8(1, 5, IN), labels: [0, 0, 0, 0, 0] })).toThrow(/1..4 samples/);
    expect(() => t.fit({ inputs: [], labels: [] }, { epochs: 1 })).toThrow(/empty/);
    expect(() => t.evaluate({ inputs: randomInt8(1, 1, IN), labels: [0] }, { on: "gpu" as "float" })).toThrow(InvalidArgumentError);
    const ae = loadModelSync(AUTOENCODER).trainer({ loss: "crossEntropy" });
    expect(() => ae.step({ inputs: randomInt8(1, 1, 12) })).toThrow(/labels are needed/);
  });

  test("a branch in the trained section is refused with UnsupportedModelError", () => {
    // input -> FC(relu) -> ADD(x, x) -> FC: training the head is fine, the first FC is not
    const g = parseModel(AUTOENCODER);
    const desc = graphToDesc(g);
    const mid = g.operators[0].outputs[0];
    const added = desc.tensors.length;
    desc.tensors.push({ ...desc.tensors[mid], name: "added" });
    desc.operators.splice(1, 0, { opcode: BuiltinOp.ADD, version: 1, inputs: [mid, mid], outputs: [added], options: {} });
    desc.operators[2].inputs[0] = added;
    const model = loadModelSync(writeModel(desc));
    expect(() => model.trainer({ trainable: "head" })).not.toThrow();
    expect(() => model.trainer({ trainable: { last: 2 } })).toThrow(UnsupportedModelError);
  });
});

describe("requantization rules (hand-derived)", () => {
  const tensor = (shape: number[], scale: number[], data: Uint8Array) =>
    ({ index: 0, name: "w", type: 9, shape, data, quantization: { scale, zeroPoint: scale.map(() => 0), quantizedDimension: 0 }, isVariable: false, byteLength: data.length });

  test("weights keep their scale while they fit; a channel that outgrows it gets max|w|/127 and its bias scale follows", () => {
    const t = tensor([2, 2], [0.5, 0.25], new Uint8Array(4));
    // channel 0: 10 / 0.5 = 20 fits; -63.6 / 0.5 = -127.2 -> -127 fits. channel 1: 40 / 0.25 = 160 > 127
    const r = requantizeWeights(Float32Array.from([10, -63.6, 40, -1]), t, 0);
    expect(r.changed).toEqual([false, true]);
    expect(r.scales[0]).toBe(0.5);
    expect(r.scales[1]).toBe(Math.fround(40 / 127));
    expect(Array.from(r.q)).toEqual([20, -127, 127, Math.round(-1 / Math.fround(40 / 127))]);
    const bt = { ...tensor([2], [0.5 * 0.1, 0.25 * 0.1], new Uint8Array(8)), type: 2 };
    const b = requantizeBias(Float32Array.from([1, 1]), bt, 0.1, r.scales, r.changed);
    expect(b.scales[0]).toBe(0.5 * 0.1); // unchanged channel: the stored bias scale
    expect(b.scales[1]).toBe(Math.fround(Math.fround(0.1) * Math.fround(40 / 127)));
    expect(Array.from(b.q)).toEqual([Math.round(1 / (0.5 * 0.1)), Math.round(1 / b.scales[1])]);
  });

  test("a diverged weight is reported, not written", () => {
    expect(() => requantizeWeights(Float32Array.from([NaN]), tensor([1, 1], [1], new Uint8Array(1)), -1)).toThrow(/diverged/);
  });
});

describe("finetuneOnDevice (the fleet agent's entry point)", () => {
  test("classifier: trains, checks on a held-out share, returns committed bytes that load", async () => {
    const task = permutedTask(20, 80);
    const r = await finetuneOnDevice(CLASSIFIER, { inputs: task.inputs.map((x) => new Uint8Array(x.buffer)), labels: task.labels as number[] },
      { trainable: "head", epochs: 20, lr: 0.05 });
    expect(r.metric).toBe("accuracy");
    expect(r.heldOutCount).toBe(20);
    expect(r.trainCount).toBe(60);
    expect(r.committed).toBe(true);
    expect(r.after).toBeGreaterThan(r.before);
    expect(r.memoryBytes).toBeGreaterThan(0);
    const m = loadModelSync(r.bytes);
    expect(m.outputs[0].shape).toEqual([1, 4]);
  });

  test("without labels it reconstructs (autoencoder); a budget too small is a MemoryBudgetError; bad data typed errors", async () => {
    const inputs = randomInt8(21, 40, 12).map((x) => new Uint8Array(x.map((v) => v >> 2).buffer));
    const r = await finetuneOnDevice(AUTOENCODER, { inputs }, { epochs: 30, lr: 0.01 });
    expect(r.metric).toBe("reconstruction_mse");
    expect(r.higherIsBetter).toBe(false);
    expect(r.committed).toBe(true);
    expect(r.after).toBeLessThan(r.before);
    expect(r.bytes).not.toBe(AUTOENCODER);
    await expect(finetuneOnDevice(AUTOENCODER, { inputs }, { budgetBytes: 2000 })).rejects.toThrow(MemoryBudgetError);
    await expect(finetuneOnDevice(AUTOENCODER, { inputs: inputs.slice(0, 1) })).rejects.toThrow(/at least 2/);
    await expect(finetuneOnDevice(AUTOENCODER, { inputs, labels: [1] })).rejects.toThrow(/1 labels for 40/);
  });
});
