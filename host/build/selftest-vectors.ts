// Generates assembly/selftest-vectors.ts: a small int8 graph (CONV_2D incl. a Winograd 3x3, DEPTHWISE_CONV_2D,
// MAX_POOL_2D, AVERAGE_POOL_2D, ADD with and without broadcasting, FULLY_CONNECTED, SOFTMAX) with
// awkward shapes and parameters, encoded by the host exactly as a model would be, and the expected
// output of every operator computed by the plain TypeScript references in test/reference/ (never
// by the kernels). The kernel module's selftest() replays it and traps on the first difference.
//
// Run: `npm run build:vectors` (part of `npm run build`). Same sources -> same file.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BuiltinOp } from "../model/types.js";
import { parseModel } from "../model/reader.js";
import { compileGraph } from "../runtime/compile.js";
import { GraphBuilder, prng } from "../../test/helpers/tflite-builder.js";
import { referenceConv2d, referenceDepthwiseConv2d } from "../../test/reference/conv.js";
import { addRef, fullyConnectedRef, poolRef, refQuantizeMultiplier } from "../../test/reference/int8-ops.js";
import { refSoftmaxInt8 } from "../../test/reference/softmax.js";

/** Where selftest() places the graph: far above the module's static data (checked at run time). */
export const SELFTEST_BASE = 0x100000;

const f32 = Math.fround;
const RELU = 1, RELU6 = 3, NONE = 0;
const SAME = 0;

function ints(rand: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));
}

/** Output size and leading pad of a SAME window (the pooling references take them as inputs). */
function same(inSize: number, filter: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  return [out, Math.floor(Math.max((out - 1) * stride + filter - inSize, 0) / 2)];
}

interface Check { op: number; name: string; tensor: number; expected: Int8Array }

/** The graph, its input and the reference output of each operator. */
export function selftestGraph(): { model: Uint8Array; input: Int8Array; checks: Check[] } {
  const rand = prng(0x5e1f7e57);
  const g = new GraphBuilder();
  g.description = "qedge kernel self-test";

  // Input [1, 11, 9, 3], odd sizes everywhere.
  const qIn = { scale: f32(0.043), zp: -7 };
  const inShape: [number, number, number, number] = [1, 11, 9, 3];
  const input = Int8Array.from(ints(rand, 11 * 9 * 3, -128, 127));
  const tIn = g.act("input", inShape, qIn.scale, qIn.zp);

  // CONV_2D 3x3, stride 2x1, SAME, RELU6, 6 output channels (not a multiple of 4), per-channel scales.
  const convW = ints(rand, 6 * 3 * 3 * 3, -127, 127);
  const convScales = [0.0071, 0.0123, 0.0049, 0.0102, 0.0088, 0.0031].map(f32);
  const convBias = ints(rand, 6, -3000, 3000);
  const qConv = { scale: f32(0.031), zp: -128 };
  const tConvW = g.constI8("conv/w", [6, 3, 3, 3], convW, { scale: convScales, zeroPoint: convScales.map(() => 0), quantizedDimension: 0 });
  const tConvB = g.constI32("conv/b", [6], convBias, { scale: convScales.map((s) => f32(s * qIn.scale)), zeroPoint: convScales.map(() => 0) });
  const conv = referenceConv2d({
    input, inShape, inScale: qIn.scale, inZp: qIn.zp, filter: Int8Array.from(convW), filterShape: [6, 3, 3, 3],
    wScales: convScales, bias: Int32Array.from(convBias), outScale: qConv.scale, outZp: qConv.zp,
    padding: "SAME", strideH: 2, strideW: 1, dilationH: 1, dilationW: 1, act: "RELU6",
  });
  const tConv = g.act("conv/out", conv.shape, qConv.scale, qConv.zp);
  g.op(BuiltinOp.CONV_2D, [tIn, tConvW, tConvB], [tConv],
    { padding: SAME, strideW: 1, strideH: 2, fusedActivationFunction: RELU6, dilationWFactor: 1, dilationHFactor: 1 }, 3);

  // DEPTHWISE_CONV_2D 3x2, multiplier 2, stride 1x2, dilation 2x1, SAME, no activation.
  const [, cH, cW, cC] = conv.shape;
  const dwC = cC * 2;
  const dwW = ints(rand, 3 * 2 * dwC, -127, 127);
  const dwScales = ints(rand, dwC, 20, 140).map((v) => f32(v / 10000));
  const dwBias = ints(rand, dwC, -2000, 2000);
  const qDw = { scale: f32(0.07), zp: 5 };
  const tDwW = g.constI8("dw/w", [1, 3, 2, dwC], dwW, { scale: dwScales, zeroPoint: dwScales.map(() => 0), quantizedDimension: 3 });
  const tDwB = g.constI32("dw/b", [dwC], dwBias, { scale: dwScales.map((s) => f32(s * qConv.scale)), zeroPoint: dwScales.map(() => 0) });
  const dw = referenceDepthwiseConv2d({
    input: conv.data, inShape: conv.shape, inScale: qConv.scale, inZp: qConv.zp, filter: Int8Array.from(dwW),
    filterShape: [1, 3, 2, dwC], wScales: dwScales, bias: Int32Array.from(dwBias), outScale: qDw.scale, outZp: qDw.zp,
    padding: "SAME", strideH: 1, strideW: 2, dilationH: 2, dilationW: 1, act: "NONE",
  });
  const tDw = g.act("dw/out", dw.shape, qDw.scale, qDw.zp);
  g.op(BuiltinOp.DEPTHWISE_CONV_2D, [tConv, tDwW, tDwB], [tDw],
    { padding: SAME, strideW: 2, strideH: 1, depthMultiplier: 2, fusedActivationFunction: NONE, dilationWFactor: 1, dilationHFactor: 2 }, 3);
  void cH; void cW;

  // MAX_POOL_2D 3x3 stride 2 SAME and AVERAGE_POOL_2D 2x3 stride 2 SAME (partial windows at the edge).
  const [, dH, dW] = dw.shape;
  const [pH, maxPadT] = same(dH, 3, 2), [pW, maxPadL] = same(dW, 3, 2);
  const [aH, avgPadT] = same(dH, 2, 2), [aW, avgPadL] = same(dW, 3, 2);
  if (pH !== aH || pW !== aW) throw new Error("selftest graph: pool outputs must agree for ADD");
  const poolShape = [1, pH, pW, dwC];
  const maxOut = poolRef({ input: dw.data, batches: 1, inH: dH, inW: dW, channels: dwC, outH: pH, outW: pW,
    fH: 3, fW: 3, sH: 2, sW: 2, padT: maxPadT, padL: maxPadL, lo: -128, hi: 127 }, true);
  const avgOut = poolRef({ input: dw.data, batches: 1, inH: dH, inW: dW, channels: dwC, outH: aH, outW: aW,
    fH: 2, fW: 3, sH: 2, sW: 2, padT: avgPadT, padL: avgPadL, lo: -128, hi: 127 }, false);
  const tMax = g.act("maxpool/out", poolShape, qDw.scale, qDw.zp);
  const tAvg = g.act("avgpool/out", poolShape, qDw.scale, qDw.zp);
  g.op(BuiltinOp.MAX_POOL_2D, [tDw], [tMax], { padding: SAME, strideW: 2, strideH: 2, filterWidth: 3, filterHeight: 3, fusedActivationFunction: NONE }, 2);
  g.op(BuiltinOp.AVERAGE_POOL_2D, [tDw], [tAvg], { padding: SAME, strideW: 2, strideH: 2, filterWidth: 3, filterHeight: 2, fusedActivationFunction: NONE }, 2);

  // ADD of the two pools, then ADD of a per-channel constant (broadcast, different scale) with RELU.
  const qSum = { scale: f32(0.11), zp: -3 };
  const sum = addRef(maxOut, poolShape, qDw, avgOut, poolShape, qDw, qSum, NONE);
  const tSum = g.act("add/out", poolShape, qSum.scale, qSum.zp);
  g.op(BuiltinOp.ADD, [tMax, tAvg], [tSum], { fusedActivationFunction: NONE }, 2);
  const qOff = { scale: f32(0.02), zp: 9 };
  const offVals = ints(rand, dwC, -128, 127);
  const tOff = g.constI8("offset", [1, 1, 1, dwC], offVals, { scale: [qOff.scale], zeroPoint: [qOff.zp] });
  const qBiased = { scale: f32(0.09), zp: -20 };
  const biased = addRef(sum, poolShape, qSum, Int8Array.from(offVals), [1, 1, 1, dwC], qOff, qBiased, RELU);
  const tBiased = g.act("add2/out", poolShape, qBiased.scale, qBiased.zp);
  g.op(BuiltinOp.ADD, [tSum, tOff], [tBiased], { fusedActivationFunction: RELU }, 2);

  // RESHAPE to [1, 108] (an alias: no kernel), FULLY_CONNECTED 108 -> 10 per-channel, SOFTMAX beta 0.7.
  const depth = pH * pW * dwC;
  const tShape = g.constI32("reshape/shape", [2], [1, depth]);
  const tFlat = g.act("flat", [1, depth], qBiased.scale, qBiased.zp);
  g.op(BuiltinOp.RESHAPE, [tBiased, tShape], [tFlat], {}, 1);
  const fcOut = 10;
  const fcW = ints(rand, fcOut * depth, -127, 127);
  const fcScales = ints(rand, fcOut, 5, 60).map((v) => f32(v / 100000));
  const fcBias = ints(rand, fcOut, -5000, 5000);
  const qFc = { scale: f32(0.06), zp: 2 };
  const tFcW = g.constI8("fc/w", [fcOut, depth], fcW, { scale: fcScales, zeroPoint: fcScales.map(() => 0), quantizedDimension: 0 });
  const tFcB = g.constI32("fc/b", [fcOut], fcBias, { scale: fcScales.map((s) => f32(s * qBiased.scale)), zeroPoint: fcScales.map(() => 0) });
  const mults = fcScales.map((s) => refQuantizeMultiplier((qBiased.scale * s) / qFc.scale));
  const fc = fullyConnectedRef({
    input: biased, inZp: qBiased.zp, weights: Int8Array.from(fcW), bias: Int32Array.from(fcBias),
    batches: 1, inDepth: depth, outDepth: fcOut, multipliers: mults.map((m) => m.multiplier), shifts: mults.map((m) => m.shift),
    outZp: qFc.zp, lo: -128, hi: 127,
  });
  const tFc = g.act("fc/out", [1, fcOut], qFc.scale, qFc.zp);
  g.op(BuiltinOp.FULLY_CONNECTED, [tFlat, tFcW, tFcB], [tFc], { fusedActivationFunction: NONE, keepNumDims: false }, 4);
  const beta = f32(0.7);
  const probs = refSoftmaxInt8(fc, fcOut, beta, qFc.scale);
  const tProbs = g.act("softmax/out", [1, fcOut], 1 / 256, -128);
  g.op(BuiltinOp.SOFTMAX, [tFc], [tProbs], { beta }, 2);

  // A side branch for the Winograd path: CONV_2D 1x1 12 -> 8 (RELU), then CONV_2D 3x3 stride 1
  // SAME 8 -> 8 (Winograd F(2x2, 3x3) when compiled with it, as loadModel does), a second output.
  const wideC = 8;
  const q1 = { scale: f32(0.05), zp: -128 };
  const w1 = ints(rand, wideC * dwC, -127, 127);
  const s1 = ints(rand, wideC, 20, 90).map((v) => f32(v / 10000));
  const b1 = ints(rand, wideC, -2000, 2000);
  const t1W = g.constI8("pw/w", [wideC, 1, 1, dwC], w1, { scale: s1, zeroPoint: s1.map(() => 0), quantizedDimension: 0 });
  const t1B = g.constI32("pw/b", [wideC], b1, { scale: s1.map((s) => f32(s * qBiased.scale)), zeroPoint: s1.map(() => 0) });
  const pw = referenceConv2d({
    input: biased, inShape: poolShape as [number, number, number, number], inScale: qBiased.scale, inZp: qBiased.zp,
    filter: Int8Array.from(w1), filterShape: [wideC, 1, 1, dwC], wScales: s1, bias: Int32Array.from(b1),
    outScale: q1.scale, outZp: q1.zp, padding: "SAME", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "RELU",
  });
  const tPw = g.act("pw/out", pw.shape, q1.scale, q1.zp);
  g.op(BuiltinOp.CONV_2D, [tBiased, t1W, t1B], [tPw],
    { padding: SAME, strideW: 1, strideH: 1, fusedActivationFunction: RELU, dilationWFactor: 1, dilationHFactor: 1 }, 3);
  const q2 = { scale: f32(0.08), zp: 11 };
  const w2 = ints(rand, wideC * 9 * wideC, -127, 127);
  const s2 = ints(rand, wideC, 20, 90).map((v) => f32(v / 10000));
  const b2 = ints(rand, wideC, -4000, 4000);
  const t2W = g.constI8("wino/w", [wideC, 3, 3, wideC], w2, { scale: s2, zeroPoint: s2.map(() => 0), quantizedDimension: 0 });
  const t2B = g.constI32("wino/b", [wideC], b2, { scale: s2.map((s) => f32(s * q1.scale)), zeroPoint: s2.map(() => 0) });
  const wino = referenceConv2d({
    input: pw.data, inShape: pw.shape as [number, number, number, number], inScale: q1.scale, inZp: q1.zp,
    filter: Int8Array.from(w2), filterShape: [wideC, 3, 3, wideC], wScales: s2, bias: Int32Array.from(b2),
    outScale: q2.scale, outZp: q2.zp, padding: "SAME", strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, act: "NONE",
  });
  const tWino = g.act("wino/out", wino.shape, q2.scale, q2.zp);
  g.op(BuiltinOp.CONV_2D, [tPw, t2W, t2B], [tWino],
    { padding: SAME, strideW: 1, strideH: 1, fusedActivationFunction: NONE, dilationWFactor: 1, dilationHFactor: 1 }, 3);

  g.inputs = [tIn];
  g.outputs = [tProbs, tWino];
  const checks: Check[] = [
    { op: 0, name: "CONV_2D", tensor: tConv, expected: conv.data },
    { op: 1, name: "DEPTHWISE_CONV_2D", tensor: tDw, expected: dw.data },
    { op: 2, name: "MAX_POOL_2D", tensor: tMax, expected: maxOut },
    { op: 3, name: "AVERAGE_POOL_2D", tensor: tAvg, expected: avgOut },
    { op: 4, name: "ADD", tensor: tSum, expected: sum },
    { op: 5, name: "ADD (broadcast)", tensor: tBiased, expected: biased },
    { op: 7, name: "FULLY_CONNECTED", tensor: tFc, expected: fc },
    { op: 8, name: "SOFTMAX", tensor: tProbs, expected: probs },
    { op: 9, name: "CONV_2D 1x1", tensor: tPw, expected: pw.data },
    { op: 10, name: "CONV_2D 3x3 (Winograd)", tensor: tWino, expected: wino.data },
  ];
  return { model: g.build(), input, checks };
}

/** Bytes to place in memory, and the (program, count, output, expected) steps, at SELFTEST_BASE. */
export function selftestImage() {
  const { model, input, checks } = selftestGraph();
  const graph = parseModel(model);
  // As loadModel compiles by default: Winograd for the 3x3 stride-1 convolution.
  const compiled = compileGraph(graph, { winograd: true });
  const base = SELFTEST_BASE;
  const enc = compiled.encode(base);
  const programAddr = base + compiled.layout.program;
  const home = (t: number) => {
    const h = compiled.homes[t];
    if (h.kind !== "arena") throw new Error(`selftest graph: tensor ${t} is not in the arena`);
    return base + compiled.layout.arena + h.offset;
  };
  const segments = [
    { address: base, bytes: compiled.weightsImage },
    { address: home(graph.inputs[0]), bytes: new Uint8Array(input.buffer) },
    { address: programAddr, bytes: new Uint8Array(enc.program.buffer) },
  ];
  const steps = checks.map((c) => {
    const count = enc.opBlockCounts[c.op];
    if (count === 0) throw new Error(`selftest graph: operator ${c.op} (${c.name}) runs no kernel`);
    return { ...c, program: programAddr + enc.opStarts[c.op], count, output: home(c.tensor) };
  });
  // Operators between two checks (the RESHAPE alias) must run no kernel, or a step would skip them.
  enc.opBlockCounts.forEach((n, i) => {
    if (n > 0 && !checks.some((c) => c.op === i)) throw new Error(`selftest graph: operator ${i} is not checked`);
  });
  const end = programAddr + enc.program.byteLength;
  return { base, end, segments, steps };
}

function byteList(bytes: Uint8Array, indent: string): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) lines.push(indent + Array.from(bytes.subarray(i, i + 24)).join(", ") + ",");
  return lines.join("\n");
}

/** The AssemblyScript source of assembly/selftest-vectors.ts. */
export function selftestVectorsSource(): string {
  const img = selftestImage();
  // One byte blob: segment data, then the expected outputs, then the check names (UTF-8).
  const parts: Uint8Array[] = [];
  let size = 0;
  const put = (b: Uint8Array) => { const at = size; parts.push(b); size += b.byteLength; return at; };
  const seg = img.segments.map((s) => [s.address, put(s.bytes), s.bytes.byteLength]);
  const chk = img.steps.map((s) => {
    const exp = put(new Uint8Array(s.expected.buffer, s.expected.byteOffset, s.expected.byteLength));
    const name = new TextEncoder().encode(s.name);
    return [s.program, s.count, s.output, exp, s.expected.byteLength, put(name), name.byteLength];
  });
  const blob = new Uint8Array(size);
  let o = 0;
  for (const p of parts) { blob.set(p, o); o += p.byteLength; }
  const rows = (r: number[][]) => r.map((x) => `  ${x.join(", ")},`).join("\n");
  return `// GENERATED by host/build/selftest-vectors.ts (npm run build:vectors): do not edit.
// A small int8 graph encoded by the host, with every operator's expected output computed by the
// TypeScript references in test/reference/ (independent of the kernels). See assembly/selftest.ts.

/** Address the graph was encoded for (above the module's static data). */
export const ST_BASE: usize = ${img.base};
/** One past the last byte the graph uses. */
export const ST_END: usize = ${img.end};

/** Segment data, expected outputs and check names. */
export const ST_BLOB: usize = memory.data<u8>([
${byteList(blob, "  ")}
]);

/** Segments to copy into memory before running: address, offset in ST_BLOB, length. */
export const ST_SEGMENT_COUNT: i32 = ${seg.length};
export const ST_SEGMENTS: usize = memory.data<u32>([
${rows(seg)}
]);

/** Checks, in order: program address, block count, output address, expected offset in ST_BLOB, length, name offset, name length. */
export const ST_CHECK_COUNT: i32 = ${chk.length};
export const ST_CHECK_WORDS: i32 = 7;
export const ST_CHECKS: usize = memory.data<u32>([
${rows(chk)}
]);
`;
}

export const VECTORS_FILE = "assembly/selftest-vectors.ts";

/** The repository root, from the source tree (host/build) or the built one (dist/host/build). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.endsWith(join("dist", "host", "build")) ? "../../.." : "../..");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = join(repoRoot(), VECTORS_FILE);
  writeFileSync(out, selftestVectorsSource());
  console.log(`wrote ${out}`);
}
