// qedge inspect MODEL [--json]: what a .tflite file holds, as the loader sees it after validation.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { parseModel } from "../model/reader.js";
import { tensorTypeName } from "../model/schema.js";
import { Activation, Padding, type ModelGraph, type Operator, type Tensor } from "../model/types.js";
import { compileGraph } from "../runtime/compile.js";
import { QedgeError } from "../errors.js";

const HELP = `usage: qedge inspect MODEL [--json]

Parses and validates a .tflite model and prints its graph inputs and outputs, every operator
(op version, input/output/intermediate tensors, builtin options), every tensor (type, shape,
bytes, constant/variable, quantization: scale count, zero point, quantized dimension, arena
offset) and the memory plan qedge would run it with (arena, weights, variable state).

  --json   print one JSON document instead of text
Exit status: 0 on success; 1 with a one-line error if the file is not a valid model.`;

/**
 * HOOK for the lead: the arena plan. Whatever computes it passes either the plan itself or a
 * function building it from the parsed graph; inspect prints `summary` (name -> bytes or text)
 * and, per tensor, the arena offset when `tensorOffsets` has one. Absent: no plan section.
 */
export interface InspectPlan {
  summary: Record<string, number | string>;
  tensorOffsets?: ReadonlyMap<number, number>;
}
export type InspectPlanSource = InspectPlan | ((graph: ModelGraph) => InspectPlan | Promise<InspectPlan>);

export async function inspectCommand(args: string[], plan?: InspectPlanSource): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    console.error(`qedge inspect: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`qedge inspect: expected exactly one MODEL file\n\n${HELP}`);
    return 2;
  }
  const file = parsed.positionals[0];
  const graph = parseModel(new Uint8Array(readFileSync(file)));
  const p = typeof plan === "function" ? await plan(graph) : plan ?? arenaPlanOf(graph);
  console.log(parsed.values.json ? JSON.stringify(inspectJson(graph, basename(file), p), null, 2) : inspectText(graph, basename(file), p));
  return 0;
}

/** The plan qedge's runtime would use: compile the graph (no wasm needed) and read its layout. */
export function arenaPlanOf(graph: ModelGraph): InspectPlan {
  try {
    // As loadModel compiles by default (Winograd convolutions, Strassen FULLY_CONNECTED).
    const c = compileGraph(graph, { winograd: true, strassen: true });
    const tensorOffsets = new Map<number, number>();
    c.homes.forEach((h, t) => { if (h.kind === "arena") tensorOffsets.set(t, h.offset); });
    return {
      summary: {
        arena_bytes: c.arenaBytes,
        arena_buffers: c.arena.length,
        weight_bytes: c.weightBytes,
        persistent_bytes: c.persistentBytes,
        activation_bytes_unplanned: c.arena.reduce((s, e) => s + e.size, 0),
      },
      tensorOffsets,
    };
  } catch (e) {
    if (e instanceof QedgeError) return { summary: { unavailable: `${e.name}: ${e.message}` } };
    throw e;
  }
}

const ACTIVATION_NAMES = Object.fromEntries(Object.entries(Activation).map(([k, v]) => [v, k]));
const PADDING_NAMES = Object.fromEntries(Object.entries(Padding).map(([k, v]) => [v, k]));

/** Option value as text, with enum fields named. */
function optionText(name: string, v: number | boolean | number[]): string {
  if (name === "fusedActivationFunction" && typeof v === "number") return ACTIVATION_NAMES[v] ?? String(v);
  if (name === "padding" && typeof v === "number") return PADDING_NAMES[v] ?? String(v);
  if (Array.isArray(v)) return `[${v.join(",")}]`;
  return String(v);
}

function quantText(t: Tensor): string {
  const q = t.quantization;
  if (!q) return "";
  if (q.scale.length === 1) return `scale ${fmt(q.scale[0])} zp ${q.zeroPoint[0]}`;
  const zp = q.zeroPoint.every((z) => z === q.zeroPoint[0]) ? `zp ${q.zeroPoint[0]}` : `${q.zeroPoint.length} zero points`;
  return `${q.scale.length} scales (dim ${q.quantizedDimension}) ${zp}`;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(8).replace(/0+$/, "").replace(/\.$/, "");
}

function tensorRef(g: ModelGraph, i: number): string {
  const t = g.tensors[i];
  return `t${i} ${t.name || "(unnamed)"} [${t.shape.join(",")}] ${tensorTypeName(t.type)}${t.quantization ? ` ${quantText(t)}` : ""}`;
}

function opLine(op: Operator): string {
  const list = (l: number[]) => `[${l.join(", ")}]`;
  const opts = Object.entries(op.options).map(([k, v]) => `${k}=${optionText(k, v)}`).join(" ");
  const inter = op.intermediates.length ? ` intermediates ${list(op.intermediates)}` : "";
  return `  #${String(op.index).padEnd(3)} ${op.opName} v${op.version}  ${list(op.inputs)} -> ${list(op.outputs)}${inter}${opts ? `  ${opts}` : ""}`;
}

export function inspectText(g: ModelGraph, file: string, plan?: InspectPlan): string {
  const lines: string[] = [];
  lines.push(`model: ${file} (${g.fileBytes} bytes, schema v${g.version})`);
  if (g.description) lines.push(`description: ${g.description}`);
  lines.push("inputs:");
  for (const i of g.inputs) lines.push(`  ${tensorRef(g, i)}`);
  lines.push("outputs:");
  for (const i of g.outputs) lines.push(`  ${tensorRef(g, i)}`);
  lines.push(`operators (${g.operators.length}):`);
  for (const op of g.operators) lines.push(opLine(op));
  lines.push(`tensors (${g.tensors.length}):`);
  const nameWidth = Math.min(40, Math.max(4, ...g.tensors.map((t) => t.name.length)));
  const inputs = new Set(g.inputs), outputs = new Set(g.outputs);
  let constBytes = 0, constCount = 0, actBytes = 0, actCount = 0;
  for (const t of g.tensors) {
    const role = t.data ? "const" : t.isVariable ? "variable" : inputs.has(t.index) ? "input" : outputs.has(t.index) ? "output" : "";
    if (t.data) { constBytes += t.byteLength; constCount++; } else { actBytes += t.byteLength; actCount++; }
    const off = plan?.tensorOffsets?.get(t.index);
    lines.push(`  t${String(t.index).padEnd(4)} ${t.name.padEnd(nameWidth)} ${tensorTypeName(t.type).padEnd(7)} ${`[${t.shape.join(",")}]`.padEnd(16)} ` +
      `${String(t.byteLength).padStart(8)} B ${role.padEnd(8)} ${quantText(t)}${off !== undefined ? `  @${off}` : ""}`.trimEnd());
  }
  lines.push(`totals: constant data ${constBytes} bytes in ${constCount} tensors; non-constant ${actBytes} bytes in ${actCount} tensors (before arena planning)`);
  if (plan) {
    lines.push("plan:");
    for (const [k, v] of Object.entries(plan.summary)) lines.push(`  ${k}: ${v}`);
  }
  return lines.join("\n");
}

export function inspectJson(g: ModelGraph, file: string, plan?: InspectPlan): object {
  return {
    file,
    fileBytes: g.fileBytes,
    schemaVersion: g.version,
    description: g.description,
    inputs: g.inputs,
    outputs: g.outputs,
    operators: g.operators.map((op) => ({
      index: op.index, op: op.opName, opcode: op.opcode, version: op.version,
      inputs: op.inputs, outputs: op.outputs, intermediates: op.intermediates, options: op.options,
    })),
    tensors: g.tensors.map((t) => ({
      index: t.index, name: t.name, type: tensorTypeName(t.type), shape: t.shape, bytes: t.byteLength,
      constant: t.data !== null, variable: t.isVariable,
      quantization: t.quantization && {
        scaleCount: t.quantization.scale.length, scale: t.quantization.scale,
        zeroPoint: t.quantization.zeroPoint, quantizedDimension: t.quantization.quantizedDimension,
      },
      ...(plan?.tensorOffsets?.has(t.index) ? { arenaOffset: plan.tensorOffsets.get(t.index) } : {}),
    })),
    ...(plan ? { plan: plan.summary } : {}),
  };
}
