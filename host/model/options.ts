// Builtin operator options: which options table (BuiltinOptions union member) each op takes,
// the fields of those tables with their vtable slots and schema defaults, and parsing.
// The same field specs drive the writer (host/model/writer.ts), so both sides agree on slots.
import { BuiltinOp } from "./types.js";
import type { FbReader, Table } from "./fbreader.js";
import { ModelFormatError } from "../errors.js";
import { opName } from "./schema.js";

export type OptionValue = number | boolean | number[];
export type Options = Record<string, OptionValue>;

/** Scalar kinds as stored in the table; "i32s" is a vector of int32. */
export type FieldKind = "i8" | "u8" | "bool" | "i32" | "f32" | "i32s";

export interface FieldSpec {
  /** camelCase field name used in Operator.options. */
  name: string;
  slot: number;
  kind: FieldKind;
  /** Schema default; undefined for vectors (absent vector => field omitted). */
  def?: number | boolean;
  /** Inclusive upper bound of an enum field (lower bound 0), checked on read. */
  enumMax?: number;
}

export interface OptionsTableSpec {
  /** BuiltinOptions union tag. */
  tag: number;
  name: string;
  fields: FieldSpec[];
}

const ACT_MAX = 5; // ActivationFunctionType: NONE..SIGN_BIT
const PAD_MAX = 1; // Padding: SAME, VALID
const act = (slot: number): FieldSpec => ({ name: "fusedActivationFunction", slot, kind: "i8", def: 0, enumMax: ACT_MAX });
const padding: FieldSpec = { name: "padding", slot: 0, kind: "i8", def: 0, enumMax: PAD_MAX };

export const Conv2DOptions: OptionsTableSpec = {
  tag: 1, name: "Conv2DOptions", fields: [
    padding,
    { name: "strideW", slot: 1, kind: "i32", def: 0 },
    { name: "strideH", slot: 2, kind: "i32", def: 0 },
    act(3),
    { name: "dilationWFactor", slot: 4, kind: "i32", def: 1 },
    { name: "dilationHFactor", slot: 5, kind: "i32", def: 1 },
    { name: "quantizedBiasType", slot: 6, kind: "i8", def: 0 },
  ],
};

export const DepthwiseConv2DOptions: OptionsTableSpec = {
  tag: 2, name: "DepthwiseConv2DOptions", fields: [
    padding,
    { name: "strideW", slot: 1, kind: "i32", def: 0 },
    { name: "strideH", slot: 2, kind: "i32", def: 0 },
    { name: "depthMultiplier", slot: 3, kind: "i32", def: 0 },
    act(4),
    { name: "dilationWFactor", slot: 5, kind: "i32", def: 1 },
    { name: "dilationHFactor", slot: 6, kind: "i32", def: 1 },
  ],
};

export const Pool2DOptions: OptionsTableSpec = {
  tag: 5, name: "Pool2DOptions", fields: [
    padding,
    { name: "strideW", slot: 1, kind: "i32", def: 0 },
    { name: "strideH", slot: 2, kind: "i32", def: 0 },
    { name: "filterWidth", slot: 3, kind: "i32", def: 0 },
    { name: "filterHeight", slot: 4, kind: "i32", def: 0 },
    act(5),
  ],
};

export const FullyConnectedOptions: OptionsTableSpec = {
  tag: 8, name: "FullyConnectedOptions", fields: [
    act(0),
    { name: "weightsFormat", slot: 1, kind: "i8", def: 0, enumMax: 1 },
    { name: "keepNumDims", slot: 2, kind: "bool", def: false },
    { name: "asymmetricQuantizeInputs", slot: 3, kind: "bool", def: false },
    { name: "quantizedBiasType", slot: 4, kind: "i8", def: 0 },
  ],
};

export const SoftmaxOptions: OptionsTableSpec = {
  tag: 9, name: "SoftmaxOptions", fields: [{ name: "beta", slot: 0, kind: "f32", def: 0 }],
};

export const ConcatenationOptions: OptionsTableSpec = {
  tag: 10, name: "ConcatenationOptions", fields: [{ name: "axis", slot: 0, kind: "i32", def: 0 }, act(1)],
};

export const AddOptions: OptionsTableSpec = {
  tag: 11, name: "AddOptions", fields: [act(0), { name: "potScaleInt16", slot: 1, kind: "bool", def: true }],
};

export const ReshapeOptions: OptionsTableSpec = {
  tag: 17, name: "ReshapeOptions", fields: [{ name: "newShape", slot: 0, kind: "i32s" }],
};

export const MulOptions: OptionsTableSpec = { tag: 21, name: "MulOptions", fields: [act(0)] };

export const ReducerOptions: OptionsTableSpec = {
  tag: 27, name: "ReducerOptions", fields: [{ name: "keepDims", slot: 0, kind: "bool", def: false }],
};

export const SubOptions: OptionsTableSpec = {
  tag: 28, name: "SubOptions", fields: [act(0), { name: "potScaleInt16", slot: 1, kind: "bool", def: true }],
};

export const DivOptions: OptionsTableSpec = { tag: 29, name: "DivOptions", fields: [act(0)] };

export const StridedSliceOptions: OptionsTableSpec = {
  tag: 32, name: "StridedSliceOptions", fields: [
    { name: "beginMask", slot: 0, kind: "i32", def: 0 },
    { name: "endMask", slot: 1, kind: "i32", def: 0 },
    { name: "ellipsisMask", slot: 2, kind: "i32", def: 0 },
    { name: "newAxisMask", slot: 3, kind: "i32", def: 0 },
    { name: "shrinkAxisMask", slot: 4, kind: "i32", def: 0 },
    { name: "offset", slot: 5, kind: "bool", def: false },
  ],
};

export const UnidirectionalSequenceLSTMOptions: OptionsTableSpec = {
  tag: 71, name: "UnidirectionalSequenceLSTMOptions", fields: [
    act(0),
    { name: "cellClip", slot: 1, kind: "f32", def: 0 },
    { name: "projClip", slot: 2, kind: "f32", def: 0 },
    { name: "timeMajor", slot: 3, kind: "bool", def: false },
    { name: "asymmetricQuantizeInputs", slot: 4, kind: "bool", def: false },
    { name: "diagonalRecurrentTensors", slot: 5, kind: "bool", def: false },
  ],
};

export const LeakyReluOptions: OptionsTableSpec = {
  tag: 75, name: "LeakyReluOptions", fields: [{ name: "alpha", slot: 0, kind: "f32", def: 0 }],
};

/** Options table each builtin op takes (ops not listed get {}). */
export const OPTIONS_BY_OP: ReadonlyMap<number, OptionsTableSpec> = new Map<number, OptionsTableSpec>([
  [BuiltinOp.CONV_2D, Conv2DOptions],
  [BuiltinOp.DEPTHWISE_CONV_2D, DepthwiseConv2DOptions],
  [BuiltinOp.AVERAGE_POOL_2D, Pool2DOptions],
  [BuiltinOp.MAX_POOL_2D, Pool2DOptions],
  [12 /* L2_POOL_2D */, Pool2DOptions],
  [BuiltinOp.FULLY_CONNECTED, FullyConnectedOptions],
  [BuiltinOp.SOFTMAX, SoftmaxOptions],
  [BuiltinOp.CONCATENATION, ConcatenationOptions],
  [BuiltinOp.ADD, AddOptions],
  [BuiltinOp.RESHAPE, ReshapeOptions],
  [BuiltinOp.MUL, MulOptions],
  [BuiltinOp.MEAN, ReducerOptions],
  [74 /* SUM */, ReducerOptions],
  [81 /* REDUCE_PROD */, ReducerOptions],
  [82 /* REDUCE_MAX */, ReducerOptions],
  [89 /* REDUCE_MIN */, ReducerOptions],
  [91 /* REDUCE_ANY */, ReducerOptions],
  [140 /* REDUCE_ALL */, ReducerOptions],
  [BuiltinOp.SUB, SubOptions],
  [42 /* DIV */, DivOptions],
  [BuiltinOp.STRIDED_SLICE, StridedSliceOptions],
  [BuiltinOp.UNIDIRECTIONAL_SEQUENCE_LSTM, UnidirectionalSequenceLSTMOptions],
  [BuiltinOp.LEAKY_RELU, LeakyReluOptions],
]);

/** Options with every scalar field at its schema default (what an absent table means). */
export function defaultOptions(spec: OptionsTableSpec): Options {
  const out: Options = {};
  for (const f of spec.fields) if (f.def !== undefined) out[f.name] = f.def;
  return out;
}

function readField(r: FbReader, t: Table, f: FieldSpec): OptionValue | undefined {
  switch (f.kind) {
    case "i8": return r.i8(t, f.slot, f.def as number);
    case "u8": return r.u8(t, f.slot, f.def as number);
    case "bool": return r.bool(t, f.slot, f.def as boolean);
    case "i32": return r.i32(t, f.slot, f.def as number);
    case "f32": return r.f32(t, f.slot, f.def as number);
    case "i32s": return r.int32s(t, f.slot, `${t.path}.${f.name}`) ?? undefined;
  }
}

/**
 * Parse the builtin options of one operator table. `opTable` is the Operator table, `tag` and
 * `valueSlot` the union's slots, `code` the op's builtin code. An absent table yields the
 * schema defaults; a table of the wrong union member for this op is a ModelFormatError.
 */
export function parseBuiltinOptions(
  r: FbReader, opTable: Table, tagSlot: number, valueSlot: number, code: number, path: string,
): Options {
  const spec = OPTIONS_BY_OP.get(code);
  if (!spec) return {};
  const tag = r.u8(opTable, tagSlot);
  if (tag !== 0 && tag !== spec.tag) {
    throw new ModelFormatError(`${path}.builtin_options_type`,
      `options type ${tag} does not belong to ${opName(code)} (expected ${spec.tag}, ${spec.name})`);
  }
  const t = tag === 0 ? null : r.child(opTable, valueSlot, `${path}.builtin_options`);
  if (!t) return defaultOptions(spec);
  const out: Options = {};
  for (const f of spec.fields) {
    const v = readField(r, t, f);
    if (v === undefined) continue;
    if (f.enumMax !== undefined && typeof v === "number" && (v < 0 || v > f.enumMax)) {
      throw new ModelFormatError(`${path}.builtin_options.${f.name}`, `value ${v} is not a valid enum value (0..${f.enumMax})`);
    }
    out[f.name] = v;
  }
  return out;
}
