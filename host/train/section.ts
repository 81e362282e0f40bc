// Which part of a loaded int8 graph a trainer works on. The trainable set (head, biases, last k
// layers, or named layers / tensors) decides the first operator that has a trainable tensor;
// everything before it is the frozen prefix and keeps running in int8 on the deployed model.
// From that operator to the graph output the operators must form one chain of layers the f32
// training kernels know (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE/MAX_POOL_2D,
// RESHAPE to a flat vector, an optional final SOFTMAX); that chain becomes a Sequential spec
// whose weights are the dequantized int8 ones.
import { InvalidArgumentError, UnsupportedModelError } from "../errors.js";
import { Activation as Act, BuiltinOp, Padding, TensorType, type ModelGraph, type Operator, type Tensor } from "../model/types.js";
import type { LayerSpec, ModelSpec, Activation } from "./model.js";

/** "head": the last layer with weights; "bias": every bias; {last: k}: the last k layers with weights; or names. */
export type TrainableSpec = "head" | "bias" | { last: number } | string[];

/** A weight or bias tensor of a layer in the trained section. */
export interface SectionParam {
  /** The trainer's name: `op<i>.weight` / `op<i>.bias` (i = operator index in the graph). */
  name: string;
  /** The parameter's name in the Sequential model (`layers[j].weight`). */
  seqName: string;
  op: number;
  kind: "weight" | "bias";
  /** Graph tensor index; -1 for an operator without a bias tensor. */
  tensor: number;
  shape: number[];
  /** Axis of per-channel quantization (-1: one scale for the tensor). */
  axis: number;
  trainable: boolean;
}

export interface Section {
  /** First operator of the f32 section; operators before it are frozen and run in int8. */
  firstOp: number;
  /** Int8 tensor feeding the section: the graph input or an output of the frozen prefix. */
  boundary: number;
  /** Operator that produces the boundary tensor (-1: it is the graph input). */
  boundaryOp: number;
  spec: ModelSpec;
  params: SectionParam[];
  /** The graph ends with SOFTMAX, which the section leaves to the loss (cross-entropy on logits). */
  softmax: boolean;
  /** Operators with a trainable tensor. */
  trainableOps: number[];
  /** For each Sequential layer, the graph tensor its output stands for (-1: an inserted flatten / reshape). */
  layerOutputs: number[];
}

const PARAM_OPS: ReadonlySet<number> = new Set([BuiltinOp.CONV_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.FULLY_CONNECTED]);
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

const opLabel = (op: Operator) => `op${op.index} (${op.opName})`;

function hasWeights(g: ModelGraph, op: Operator): boolean {
  if (!PARAM_OPS.has(op.opcode)) return false;
  const w = g.tensors[op.inputs[1]];
  return !!w && !!w.data;
}

/** Operators with constant weights, in graph order. */
export function layersWithWeights(g: ModelGraph): Operator[] {
  return g.operators.filter((op) => hasWeights(g, op));
}

function biasOf(op: Operator): number {
  return op.inputs.length > 2 ? op.inputs[2] : -1;
}

/** Resolve a trainable set to (operator, kind) pairs. */
function resolveTrainable(g: ModelGraph, spec: TrainableSpec): Map<number, Set<"weight" | "bias">> {
  const layers = layersWithWeights(g);
  if (layers.length === 0) throw new UnsupportedModelError("trainer", "the model has no layer with constant weights to train");
  const out = new Map<number, Set<"weight" | "bias">>();
  const add = (op: number, kind: "weight" | "bias") => {
    if (!out.has(op)) out.set(op, new Set());
    out.get(op)!.add(kind);
  };
  const addLayer = (op: Operator) => { add(op.index, "weight"); if (biasOf(op) >= 0) add(op.index, "bias"); };
  if (spec === "head") {
    addLayer(layers[layers.length - 1]);
  } else if (spec === "bias") {
    for (const op of layers) if (biasOf(op) >= 0) add(op.index, "bias");
    if (out.size === 0) throw new UnsupportedModelError("trainer", "trainable 'bias': no layer of this model has a bias tensor");
  } else if (Array.isArray(spec)) {
    if (spec.length === 0) throw new InvalidArgumentError("trainable: the list of layer names is empty");
    const byIndex = new Map(layers.map((op) => [op.index, op]));
    for (const name of spec) {
      if (typeof name !== "string") throw new InvalidArgumentError(`trainable: expected layer names, got ${JSON.stringify(name)}`);
      const m = /^op(\d+)(?:\.(weight|bias))?$/.exec(name);
      if (m) {
        const op = byIndex.get(Number(m[1]));
        if (!op) throw new InvalidArgumentError(`trainable: ${name.split(".")[0]} is not a layer with weights (layers with weights: ${layers.map((o) => `op${o.index}`).join(", ")})`);
        if (m[2] === "bias" && biasOf(op) < 0) throw new InvalidArgumentError(`trainable: ${opLabel(op)} has no bias tensor`);
        if (m[2]) add(op.index, m[2] as "weight" | "bias"); else addLayer(op);
        continue;
      }
      // A graph tensor name: a layer's weight or bias, or a layer's output (the whole layer).
      let found = false;
      for (const op of layers) {
        const w = g.tensors[op.inputs[1]], b = biasOf(op) >= 0 ? g.tensors[biasOf(op)] : null;
        if (w.name === name) { add(op.index, "weight"); found = true; }
        if (b && b.name === name) { add(op.index, "bias"); found = true; }
        if (g.tensors[op.outputs[0]].name === name) { addLayer(op); found = true; }
      }
      if (!found) {
        throw new InvalidArgumentError(`trainable: no layer named '${name}' (use op<i>, op<i>.weight, op<i>.bias or a tensor name; ` +
          `layers with weights: ${layers.map((o) => `op${o.index}`).join(", ")})`);
      }
    }
  } else if (spec && typeof spec === "object" && "last" in spec) {
    const k = spec.last;
    if (!Number.isInteger(k) || k < 1 || k > layers.length) {
      throw new InvalidArgumentError(`trainable {last: ${k}}: the model has ${layers.length} layer(s) with weights`);
    }
    for (const op of layers.slice(layers.length - k)) addLayer(op);
  } else {
    throw new InvalidArgumentError(`trainable must be 'head', 'bias', {last: k} or a list of layer names, got ${JSON.stringify(spec)}`);
  }
  return out;
}

function activationOf(op: Operator): Activation {
  const a = (op.options.fusedActivationFunction as number | undefined) ?? Act.NONE;
  if (a === Act.RELU) return "relu";
  if (a === Act.NONE) return "none";
  throw new UnsupportedModelError(opLabel(op), `fused activation ${a} is not supported in a trained section (RELU or NONE only)`);
}

function perSample(t: Tensor, what: string): number[] {
  if (t.shape.length < 2 || t.shape[0] !== 1) {
    throw new UnsupportedModelError("trainer", `${what} tensor ${t.index} has shape [${t.shape}]; expected batch 1 ([1, ...])`);
  }
  return t.shape.slice(1);
}

function checkInt8Activation(t: Tensor, what: string): void {
  if (t.type !== TensorType.INT8 || !t.quantization || t.quantization.scale.length !== 1) {
    throw new UnsupportedModelError("trainer", `${what} tensor ${t.index} (${t.name}) must be int8 with one scale`);
  }
}

function checkWeight(g: ModelGraph, op: Operator, t: Tensor): void {
  const q = t.quantization;
  if (t.type !== TensorType.INT8 || !q) throw new UnsupportedModelError(opLabel(op), "weights must be int8 and quantized");
  if (q.zeroPoint.some((z) => z !== 0)) throw new UnsupportedModelError(opLabel(op), "weights must be symmetric (zero point 0)");
}

/** Analyse the graph for a trainable set. Throws UnsupportedModelError naming what does not fit. */
export function planSection(g: ModelGraph, trainable: TrainableSpec): Section {
  if (g.inputs.length !== 1 || g.outputs.length !== 1) {
    throw new UnsupportedModelError("trainer", `the model has ${g.inputs.length} input(s) and ${g.outputs.length} output(s); fine-tuning needs one of each`);
  }
  checkInt8Activation(g.tensors[g.inputs[0]], "input");
  const chosen = resolveTrainable(g, trainable);
  const trainableOps = [...chosen.keys()].sort((a, b) => a - b);
  const firstOp = trainableOps[0];
  const ops = g.operators;
  const boundary = ops[firstOp].inputs[0];
  checkInt8Activation(g.tensors[boundary], "section input");
  let boundaryOp = -1;
  if (!g.inputs.includes(boundary)) {
    boundaryOp = ops.findIndex((o) => o.outputs.includes(boundary));
    if (boundaryOp < 0 || boundaryOp >= firstOp) throw new UnsupportedModelError("trainer", `cannot find the operator producing tensor ${boundary}`);
  }

  // Every trainable tensor belongs to exactly one operator (no shared weights).
  const uses = new Map<number, number>();
  for (const op of ops) for (const t of op.inputs) if (t >= 0) uses.set(t, (uses.get(t) ?? 0) + 1);

  let shape = perSample(g.tensors[boundary], "section input");
  const layers: LayerSpec[] = [];
  const params: SectionParam[] = [];
  let prev = boundary;
  let softmax = false;
  /** Graph tensor each Sequential layer's output stands for (-1 for an inserted flatten). */
  const layerOutputs: number[] = [];
  const flatten = () => {
    if (shape.length !== 1) { layers.push({ type: "flatten" }); shape = [prod(shape)]; }
  };
  for (let i = firstOp; i < ops.length; i++) {
    const op = ops[i];
    const label = opLabel(op);
    if (op.inputs[0] !== prev || op.outputs.length !== 1) {
      throw new UnsupportedModelError(label, `the operators from op${firstOp} to the output must form one chain (each taking the previous one's output); ` +
        "train later layers only, or a model without branches");
    }
    if (softmax) throw new UnsupportedModelError(label, "SOFTMAX must be the last operator of a trained section");
    const out = g.tensors[op.outputs[0]];
    const outShape = perSample(out, `${label} output`);
    const o = op.options;
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
      case BuiltinOp.DEPTHWISE_CONV_2D:
      case BuiltinOp.FULLY_CONNECTED: {
        const w = g.tensors[op.inputs[1]];
        if (!w || !w.data) throw new UnsupportedModelError(label, "weights must be a constant tensor");
        checkWeight(g, op, w);
        const bias = biasOf(op);
        if (bias >= 0) {
          const b = g.tensors[bias];
          if (b.type !== TensorType.INT32 || !b.data || !b.quantization) throw new UnsupportedModelError(label, "bias must be a constant int32 tensor");
        }
        const isFc = op.opcode === BuiltinOp.FULLY_CONNECTED;
        const isDw = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
        const activation = activationOf(op);
        if (isFc) {
          flatten();
          if (w.shape.length !== 2 || w.shape[1] !== shape[0]) {
            throw new UnsupportedModelError(label, `weights [${w.shape}] do not match an input of ${shape[0]} values`);
          }
          if (prod(outShape) !== w.shape[0]) throw new UnsupportedModelError(label, `output [${out.shape}] is not ${w.shape[0]} values`);
          layers.push({ type: "dense", units: w.shape[0], activation });
        } else {
          if (shape.length !== 3) throw new UnsupportedModelError(label, `needs an NHWC input, got [${shape}]`);
          if ((o.dilationHFactor ?? 1) !== 1 || (o.dilationWFactor ?? 1) !== 1) throw new UnsupportedModelError(label, "dilation is not supported in a trained section");
          const kh = w.shape[1], kw = w.shape[2];
          const stride: [number, number] = [o.strideH as number, o.strideW as number];
          const padding = o.padding === Padding.VALID ? "valid" : "same";
          if (isDw) {
            const mult = (o.depthMultiplier as number) || w.shape[3] / shape[2];
            if (w.shape[3] !== shape[2] * mult) throw new UnsupportedModelError(label, `weights [${w.shape}] do not match ${shape[2]} input channels`);
            layers.push({ type: "depthwise", kernel: [kh, kw], stride, padding, multiplier: mult, activation });
          } else {
            if (w.shape[3] !== shape[2]) throw new UnsupportedModelError(label, `weights [${w.shape}] do not match ${shape[2]} input channels`);
            layers.push({ type: "conv2d", filters: w.shape[0], kernel: [kh, kw], stride, padding, activation });
          }
        }
        const j = layers.length - 1;
        const want = chosen.get(op.index);
        const axisOf = (t: Tensor, dflt: number) => (t.quantization && t.quantization.scale.length > 1 ? t.quantization.quantizedDimension : dflt);
        params.push({
          name: `op${op.index}.weight`, seqName: `layers[${j}].weight`, op: op.index, kind: "weight", tensor: op.inputs[1],
          shape: w.shape.slice(), axis: axisOf(w, -1), trainable: !!want?.has("weight"),
        });
        params.push({
          name: `op${op.index}.bias`, seqName: `layers[${j}].bias`, op: op.index, kind: "bias", tensor: bias,
          shape: [isFc ? w.shape[0] : isDw ? w.shape[3] : w.shape[0]], axis: bias >= 0 ? axisOf(g.tensors[bias], -1) : -1,
          trainable: !!want?.has("bias"),
        });
        for (const p of params.slice(-2)) {
          if (p.trainable && p.tensor >= 0 && (uses.get(p.tensor) ?? 0) > 1) {
            throw new UnsupportedModelError(label, `${p.kind} tensor ${p.tensor} is shared with another operator; it cannot be trained alone`);
          }
        }
        break;
      }
      case BuiltinOp.AVERAGE_POOL_2D:
      case BuiltinOp.MAX_POOL_2D: {
        if (shape.length !== 3) throw new UnsupportedModelError(label, `needs an NHWC input, got [${shape}]`);
        if (((o.fusedActivationFunction as number) ?? 0) !== Act.NONE) throw new UnsupportedModelError(label, "a fused activation on a pool is not supported in a trained section");
        layers.push({
          type: op.opcode === BuiltinOp.AVERAGE_POOL_2D ? "avgpool" : "maxpool",
          pool: [o.filterHeight as number, o.filterWidth as number], stride: [o.strideH as number, o.strideW as number],
          padding: o.padding === Padding.VALID ? "valid" : "same",
        });
        break;
      }
      case BuiltinOp.RESHAPE: {
        if (outShape.length === 1) flatten();
        else if (outShape.join(",") !== shape.join(",")) {
          throw new UnsupportedModelError(label, `a reshape from [${shape}] to [${outShape}] is not supported in a trained section (only to a flat vector)`);
        }
        break;
      }
      case BuiltinOp.SOFTMAX: {
        if (i !== ops.length - 1) throw new UnsupportedModelError(label, "SOFTMAX must be the last operator of a trained section");
        if (Math.abs((o.beta as number) - 1) > 1e-6) throw new UnsupportedModelError(label, `softmax beta ${o.beta} is not supported (1 only)`);
        softmax = true;
        break;
      }
      default:
        throw new UnsupportedModelError(label, "this operator cannot be part of a trained section; train later layers only");
    }
    if (op.opcode === BuiltinOp.FULLY_CONNECTED) shape = [prod(outShape)];
    else if (op.opcode !== BuiltinOp.SOFTMAX && op.opcode !== BuiltinOp.RESHAPE) shape = outShape;
    if (op.opcode !== BuiltinOp.SOFTMAX && op.opcode !== BuiltinOp.RESHAPE) layerOutputs.push(...Array(layers.length - layerOutputs.length - 1).fill(-1), op.outputs[0]);
    prev = op.outputs[0];
  }
  if (prev !== g.outputs[0]) throw new UnsupportedModelError("trainer", `the chain from op${firstOp} does not end at the graph output`);
  const spec: ModelSpec = { input: perSample(g.tensors[boundary], "section input"), layers };
  layerOutputs.push(...Array(layers.length - layerOutputs.length).fill(-1));
  return { firstOp, boundary, boundaryOp, spec, params, softmax, trainableOps, layerOutputs };
}

/** The real-valued tensor the section's output stands for: the logits before SOFTMAX, else the graph output. */
export function sectionOutputTensor(g: ModelGraph, s: Section): number {
  const last = g.operators[g.operators.length - 1];
  return s.softmax ? last.inputs[0] : g.outputs[0];
}
