// A whole Sequential model (host chaining of the kernels) against central differences of an
// independent f64 forward pass; optimizer steps against hand-derived values; and the scalar and
// SIMD builds producing identical bytes through a short training run.
import { describe, expect, test } from "vitest";
import { Sequential, type ModelSpec } from "../../host/train/model.js";
import { Adam, Sgd } from "../../host/train/optimizers.js";
import { InvalidArgumentError } from "../../host/errors.js";
import * as ref from "../reference/train-f64.js";
import { TRAIN_BUILDS_HERE, randomF32, expectClose } from "./helpers.js";

const SPEC_A: ModelSpec = {
  input: [7, 7, 2],
  layers: [
    { type: "conv2d", filters: 4, kernel: 3, stride: 2, padding: "same", activation: "relu" },
    { type: "depthwise", kernel: 3, stride: 1, padding: "same", activation: "relu" },
    { type: "avgpool", pool: 2, stride: 2, padding: "valid" },
    { type: "flatten" },
    { type: "dense", units: 5, activation: "relu" },
    { type: "dense", units: 3 },
  ],
};

const SPEC_B: ModelSpec = {
  input: [6, 6, 1],
  layers: [
    { type: "conv2d", filters: 3, kernel: 5, stride: 1, padding: "same", activation: "relu" },
    { type: "maxpool", pool: 2 },
    { type: "depthwise", kernel: 3, stride: 2, padding: "valid", multiplier: 2 },
    { type: "flatten" },
    { type: "dense", units: 4 },
  ],
};

/** f64 forward of a spec with the given weights (independent of host/train/model.ts). */
function refForward(spec: ModelSpec, wts: Map<string, Float64Array>, x: Float64Array, n: number): Float64Array {
  let img: ref.Img | null = spec.input.length === 3
    ? { n, h: spec.input[0], w: spec.input[1], c: spec.input[2], data: x } : null;
  let flat: Float64Array = x;
  let width = spec.input.length === 3 ? 0 : spec.input[0];
  spec.layers.forEach((l, i) => {
    const W = wts.get(`layers[${i}].weight`)!, B = wts.get(`layers[${i}].bias`)!;
    const k = (v: number | [number, number] | undefined, d: number) => (v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v);
    switch (l.type) {
      case "conv2d": { const [kh, kw] = k(l.kernel, 1), [sh, sw] = k(l.stride, 1); img = ref.conv2d(img!, W, B, l.filters, kh, kw, sh, sw, l.padding ?? "same"); break; }
      case "depthwise": { const [kh, kw] = k(l.kernel, 1), [sh, sw] = k(l.stride, 1); img = ref.depthwise(img!, W, B, l.multiplier ?? 1, kh, kw, sh, sw, l.padding ?? "same"); break; }
      case "avgpool": case "maxpool": { const [kh, kw] = k(l.pool, 2), [sh, sw] = k(l.stride, kh); img = ref.pool(l.type === "avgpool" ? "avg" : "max", img!, kh, kw, sh, sw, l.padding ?? "valid"); break; }
      case "flatten": flat = img!.data; width = img!.h * img!.w * img!.c; img = null; break;
      case "dense": flat = ref.dense(flat, n, width, W, B, l.units); width = l.units; break;
    }
    if ("activation" in l && l.activation === "relu") {
      if (img) img = { ...img, data: ref.relu(img.data) }; else flat = ref.relu(flat);
    }
  });
  return img ? img.data : flat;
}

const asF64 = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));

/**
 * Random nonzero biases: with zero biases a window of all-zero ReLU outputs gives a
 * pre-activation of exactly 0, a kink where central differences return half the slope.
 */
function randomizeBiases(model: Sequential, seed: number): void {
  model.setWeights(new Map(model.params.filter((p) => p.name.endsWith(".bias"))
    .map((p, i) => [p.name, randomF32(seed + i, p.count, 0.05, 0.3)])));
}

describe.each(TRAIN_BUILDS_HERE)("Sequential model (%s build)", (build) => {
  test("softmax cross-entropy gradients of every parameter match central differences", () => {
    const n = 2;
    const model = new Sequential(SPEC_A, { maxBatch: 4, seed: 7, build });
    randomizeBiases(model, 700);
    const x = randomF32(70, n * 7 * 7 * 2, 0, 1);
    const labels = [2, 0];
    model.setInput(x, n);
    const out = model.forward(n);
    const wts = asF64(model.getWeights());
    expectClose(out, refForward(SPEC_A, wts, x, n), 1e-5, "logits");
    const loss = model.softmaxCrossEntropy(labels, n);
    const refLoss = () => ref.softmaxCrossEntropy(refForward(SPEC_A, wts, x, n), labels, n, 3);
    expect(Math.abs(loss - refLoss())).toBeLessThan(1e-5);
    model.zeroGrad();
    model.backward(n);
    const grads = model.gradients();
    for (const p of model.params) {
      expectClose(grads.get(p.name)!, ref.numericGradient(refLoss, wts.get(p.name)!), 1e-4, p.name);
    }
  });

  test("mean squared error gradients with max pool and depth multiplier 2", () => {
    const n = 3;
    const model = new Sequential(SPEC_B, { maxBatch: 3, seed: 8, build });
    randomizeBiases(model, 800);
    const x = randomF32(80, n * 36, -1, 1), target = randomF32(81, n * 4);
    model.setInput(x, n);
    model.forward(n);
    const wts = asF64(model.getWeights());
    const loss = model.meanSquaredError(target, n);
    const refLoss = () => ref.meanSquaredError(refForward(SPEC_B, wts, x, n), target);
    expect(Math.abs(loss - refLoss())).toBeLessThan(1e-5);
    model.zeroGrad();
    model.backward(n);
    const grads = model.gradients();
    for (const p of model.params) {
      expectClose(grads.get(p.name)!, ref.numericGradient(refLoss, wts.get(p.name)!), 1e-4, p.name);
    }
  });

  test("SGD with momentum and weight decay: two steps by hand", () => {
    const model = new Sequential({ input: [1], layers: [{ type: "dense", units: 1 }] }, { maxBatch: 1, build });
    model.setWeights(new Map([["layers[0].weight", [1]], ["layers[0].bias", [0]]]));
    const opt = new Sgd(model, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, trainable: ["layers[0].weight"] });
    const g = model.kernels.f32(model.gradPtr, 2);
    // step 1: g' = 0.5 + 0.01*1 = 0.51; v = 0.51; w = 1 - 0.1*0.51 = 0.949
    g.set([0.5, 7]); opt.step();
    expect(model.getWeights().get("layers[0].weight")![0]).toBeCloseTo(0.949, 6);
    // step 2: g' = -0.25 + 0.01*0.949 = -0.24051; v = 0.9*0.51 - 0.24051 = 0.21849; w = 0.949 - 0.021849
    model.kernels.f32(model.gradPtr, 2).set([-0.25, 7]); opt.step();
    expect(model.getWeights().get("layers[0].weight")![0]).toBeCloseTo(0.927151, 6);
    // the bias was not in the trainable set: untouched despite its gradient of 7
    expect(model.getWeights().get("layers[0].bias")![0]).toBe(0);
  });

  test("Adam: two steps by hand", () => {
    const model = new Sequential({ input: [1], layers: [{ type: "dense", units: 1 }] }, { maxBatch: 1, build });
    model.setWeights(new Map([["layers[0].weight", [1]], ["layers[0].bias", [0]]]));
    const opt = new Adam(model, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    // step 1, g = 0.5: m = 0.05, v = 0.00025, m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25,
    // w = 1 - 0.1 * 0.5 / (sqrt(0.25) + 1e-8) = 0.9 (+2e-9)
    model.kernels.f32(model.gradPtr, 2).set([0.5, 0]); opt.step();
    expect(model.getWeights().get("layers[0].weight")![0]).toBeCloseTo(0.9, 6);
    // step 2, g = -0.25: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225,
    // bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999,
    // w = 0.9 - 0.1 * (0.02 / 0.19) / sqrt(0.00031225 / 0.001999) = 0.873366...
    model.kernels.f32(model.gradPtr, 2).set([-0.25, 0]); opt.step();
    const expected = 0.9 - (0.1 * (0.02 / 0.19)) / Math.sqrt(0.00031225 / 0.001999);
    expect(expected).toBeCloseTo(0.8733663, 6);
    expect(model.getWeights().get("layers[0].weight")![0]).toBeCloseTo(expected, 6);
  });

  test("bad input gets typed errors", () => {
    expect(() => new Sequential({ input: [4], layers: [{ type: "conv2d", filters: 2, kernel: 3 }] }, { maxBatch: 1, build }))
      .toThrow(InvalidArgumentError);
    expect(() => new Sequential({ input: [4, 4, 1], layers: [{ type: "dense", units: 2 }] }, { maxBatch: 1, build }))
      .toThrow(/flatten/);
    const m = new Sequential({ input: [2], layers: [{ type: "dense", units: 2 }] }, { maxBatch: 2, build });
    expect(() => m.forward(3)).toThrow(InvalidArgumentError);
    m.setInput([1, 2], 1);
    m.forward(1);
    expect(() => m.softmaxCrossEntropy([5], 1)).toThrow(/label 5/);
    expect(() => new Adam(m, { trainable: ["nope"] })).toThrow(/unknown parameter 'nope'/);
  });

  test.each([["A", SPEC_A], ["B", SPEC_B]] as const)("frozen parameters (spec %s): no gradient memory, the others' gradients unchanged", (_, spec) => {
    const full = new Sequential(spec, { maxBatch: 3, seed: 5, build });
    randomizeBiases(full, 40);
    // every other tensor frozen: weights of some layers, biases of others (exercises each kernel's skips)
    const names = full.params.map((p) => p.name).filter((_, i) => i % 3 !== 1);
    const part = new Sequential(spec, { maxBatch: 3, seed: 5, build, trainable: names });
    part.setWeights(full.getWeights());
    const x = randomF32(41, 3 * full.inputSize);
    const labels = [0, 2, 1];
    for (const m of [full, part]) {
      m.setInput(x, 3);
      m.forward(3);
      m.softmaxCrossEntropy(labels, 3);
      m.zeroGrad();
      m.backward(3);
    }
    const gf = full.gradients(), gp = part.gradients();
    expect([...gp.keys()]).toEqual(names);
    for (const n of names) expect(Array.from(gp.get(n)!), n).toEqual(Array.from(gf.get(n)!));
    expect(part.gradCount).toBe(names.reduce((a, n) => a + full.params.find((p) => p.name === n)!.count, 0));
    const frozen = full.params.find((p) => !names.includes(p.name))!.name;
    expect(() => new Sgd(part, { lr: 0.1, trainable: [frozen] })).toThrow(/frozen/);
    expect(() => new Sequential(spec, { maxBatch: 1, build, trainable: ["nope"] })).toThrow(/unknown parameter/);
  });
});

describe.skipIf(TRAIN_BUILDS_HERE.length < 2)("scalar and SIMD builds", () => {
  test("a short training run gives bit-identical weights on both builds", () => {
    const spec: ModelSpec = {
      input: [9, 9, 3],
      layers: [
        { type: "conv2d", filters: 6, kernel: 3, stride: 2, activation: "relu" },
        { type: "depthwise", kernel: 3, activation: "relu" },
        { type: "maxpool", pool: 2, stride: 1 },
        { type: "avgpool", pool: 2, stride: 1, padding: "same" },
        { type: "flatten" },
        { type: "dense", units: 7, activation: "relu" },
        { type: "dense", units: 5 },
      ],
    };
    const results = TRAIN_BUILDS_HERE.map((build) => {
      const model = new Sequential(spec, { maxBatch: 5, seed: 3, build });
      const adam = new Adam(model, { lr: 0.01 });
      const sgd = new Sgd(model, { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 });
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        model.setInput(randomF32(100 + step, 5 * 243), 5);
        model.forward(5);
        losses.push(model.softmaxCrossEntropy([0, 1, 2, 3, 4].map((i) => (i + step) % 5), 5));
        model.zeroGrad();
        model.backward(5);
        (step % 2 ? sgd : adam).step();
      }
      const all = model.kernels.f32(model.paramPtr, model.paramCount);
      return { losses, bytes: new Uint8Array(all.buffer, all.byteOffset, all.byteLength).slice() };
    });
    expect(results[1].losses).toEqual(results[0].losses);
    expect(Buffer.compare(Buffer.from(results[0].bytes), Buffer.from(results[1].bytes))).toBe(0);
    // and training did something
    expect(results[0].losses[5]).not.toBe(results[0].losses[0]);
  });
});
