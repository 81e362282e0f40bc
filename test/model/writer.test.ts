// writeModel: structure of the files it writes (checked with the raw reader, independently of
// parseModel), and round trips parse -> write -> parse on every model in ../shared.
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseModel } from "../../host/model/reader.js";
import { writeModel } from "../../host/model/writer.js";
import { FbReader } from "../../host/model/fbreader.js";
import { InvalidArgumentError, ModelFormatError } from "../../host/errors.js";
import { BuiltinOp } from "../../host/model/types.js";
import type { ModelGraph } from "../../host/model/types.js";
import { GraphBuilder, tinyConvGraph, tinyFcGraph } from "../helpers/tflite-builder.js";
import { SHARED, NO_SHARED, sharedFile } from "../helpers/shared.js";

/** Everything a ModelGraph says about the model, with data bytes as hex digests for comparison. */
function normalize(g: ModelGraph) {
  return {
    version: g.version,
    description: g.description,
    inputs: g.inputs,
    outputs: g.outputs,
    tensors: g.tensors.map((t) => ({
      index: t.index, name: t.name, type: t.type, shape: t.shape, quantization: t.quantization,
      isVariable: t.isVariable, byteLength: t.byteLength,
      data: t.data ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64") : null,
    })),
    operators: g.operators.map((o) => ({ ...o })),
  };
}

function rawStructure(bytes: Uint8Array) {
  const r = new FbReader(bytes);
  const m = r.root("model");
  const buffers = r.tables(m, 4, "buffers").map((t) => r.vector(t, 0, 1, "data"));
  const codes = r.tables(m, 1, "codes").map((t) => ({ dep: r.i8(t, 0), builtin: r.i32(t, 3), version: r.i32(t, 2, 1) }));
  return { version: r.u32(m, 0), buffers, codes, ident: new TextDecoder().decode(bytes.subarray(4, 8)) };
}

describe("writer output structure", () => {
  it("identifier TFL3, version 3, empty buffer 0, 16-byte aligned data, both op code fields", () => {
    const bytes = tinyConvGraph().build();
    const s = rawStructure(bytes);
    expect(s.ident).toBe("TFL3");
    expect(s.version).toBe(3);
    expect(s.buffers[0] === null || s.buffers[0]!.length === 0).toBe(true);
    const withData = s.buffers.filter((b) => b && b.length > 0);
    expect(withData).toHaveLength(5); // conv w/b, dw w/b, the RESHAPE shape operand
    for (const b of withData) expect(b!.start % 16).toBe(0);
    expect(s.codes).toEqual([
      { dep: BuiltinOp.CONV_2D, builtin: BuiltinOp.CONV_2D, version: 3 },
      { dep: BuiltinOp.DEPTHWISE_CONV_2D, builtin: BuiltinOp.DEPTHWISE_CONV_2D, version: 3 },
      { dep: BuiltinOp.RESHAPE, builtin: BuiltinOp.RESHAPE, version: 1 },
    ]);
  });

  it("codes >= 127 keep the placeholder 127 in deprecated_builtin_code", () => {
    const g = new GraphBuilder();
    const x = g.act("x", [1, 8]);
    const y = g.act("y", [1, 8]);
    g.op(150 /* GELU */, [x], [y]);
    g.inputs = [x];
    g.outputs = [y];
    const s = rawStructure(g.build());
    expect(s.codes).toEqual([{ dep: 127, builtin: 150, version: 1 }]);
    expect(parseModel(g.build()).operators[0].opName).toBe("GELU");
  });

  it("is deterministic: writing a parsed file again gives the same bytes", () => {
    const a = tinyConvGraph().build();
    const b = writeModel(parseModel(a));
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
  });

  it("metadata entries get their own buffers", () => {
    const g = tinyFcGraph();
    const bytes = writeModel({ ...g.desc(), metadata: [{ name: "min_runtime_version", data: new TextEncoder().encode("1.5.0\0\0\0\0\0\0\0\0\0\0\0") }] });
    const r = new FbReader(bytes);
    const m = r.root("model");
    const md = r.tables(m, 6, "metadata");
    expect(md).toHaveLength(1);
    expect(r.string(md[0], 0, "name")).toBe("min_runtime_version");
    const buf = r.tables(m, 4, "buffers")[r.u32(md[0], 1)];
    expect(new TextDecoder().decode(r.bytesView(buf, 0, "d")!).slice(0, 5)).toBe("1.5.0");
    expect(parseModel(bytes).tensors).toHaveLength(5);
  });

  it("rejects bad descriptions with typed errors (validated by parsing the result)", () => {
    const g = tinyFcGraph();
    g.operators[0].inputs[0] = 9;
    expect(() => g.build()).toThrow(ModelFormatError);
    const g2 = tinyFcGraph();
    g2.operators[1].options = { beta: 1, axis: 2 };
    expect(() => g2.build()).toThrow(InvalidArgumentError);
    const g3 = tinyFcGraph();
    g3.operators[1].opcode = BuiltinOp.LOGISTIC;
    g3.operators[1].options = { beta: 1 };
    expect(() => g3.build()).toThrow(/does not know options for this op/);
  });

  it("round trip of builder models keeps every field", () => {
    for (const g of [tinyFcGraph(), tinyConvGraph()]) {
      const a = parseModel(g.build());
      const b = parseModel(writeModel(a));
      expect(normalize(b)).toEqual(normalize(a));
    }
  });
});

const MODELS = SHARED
  ? [["models", "mlperf-tiny"], ["models", "extra"], ["models", "extra", "float-io"]].flatMap((p) =>
    readdirSync(join(SHARED!, ...p)).filter((f) => f.endsWith(".tflite")).map((f) => join(...p, f)))
  : [];

describe.skipIf(!SHARED)(`round trip of the third-party models (${SHARED ? "../shared" : NO_SHARED})`, () => {
  for (const path of MODELS) {
    it(`${path}: parse -> write -> parse gives the same graph`, () => {
      const original = sharedFile(path);
      const a = parseModel(original);
      const written = writeModel(a);
      const b = parseModel(written);
      expect(normalize(b)).toEqual(normalize(a));
      // Constant data is aligned in the written file.
      for (const t of b.tensors) if (t.data) expect(t.data.byteOffset % 16, `${path} tensor ${t.index}`).toBe(0);
      // Within 1 KB of the original plus alignment padding (no duplicated data).
      expect(written.length).toBeLessThan(original.length + 16 * b.tensors.length + 1024);
    });
  }
});
