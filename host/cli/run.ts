// qedge run MODEL --input FILE --output FILE [--kernels ...]: raw tensor bytes in and out.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel } from "../index.js";
import { InvalidArgumentError } from "../errors.js";
import type { KernelChoice } from "../wasm/kernels.js";

const HELP = `usage: qedge run MODEL --input FILE [--input FILE ...] --output FILE [--output FILE ...]
                 [--kernels auto|scalar|simd|relaxed] [--max-memory BYTES] [--no-winograd]
                 [--no-strassen] [--plain-core] [--quiet]

Runs a .tflite model. Each --input holds the raw bytes of one graph input tensor, in order
(input 0 first); each --output receives the raw bytes of one graph output tensor.
If every input file holds a whole number N of tensors (e.g. 196 AD windows), the model runs N
times, one row at a time from a fresh state, and each output file receives the N results.

  --kernels     kernel build: auto (default: relaxed > simd > scalar, as this engine allows),
                scalar, simd or relaxed (Node 20: needs --experimental-wasm-relaxed-simd)
  --max-memory  refuse to run if the kernel memory would exceed this many bytes (suffix k/m ok);
                Winograd convolutions and Strassen FULLY_CONNECTED are dropped first if that
                alone makes the model fit
  --no-winograd direct 3x3 stride-1 convolutions (same results, slower, smaller weights)
  --no-strassen plain batched FULLY_CONNECTED (same results, slower on large GEMM-shaped
                layers, smaller weights)
  --plain-core  instantiate the plain core kernel module instead of the WASI component
  --quiet       print nothing on success
Exit status: 0 on success; 1 with a one-line error on bad input.`;

export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`not a byte count: '${s}'`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Math.round(parseFloat(m[1]) * mult);
}

export async function runCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        input: { type: "string", multiple: true, short: "i" },
        output: { type: "string", multiple: true, short: "o" },
        kernels: { type: "string", default: "auto" },
        "max-memory": { type: "string" },
        "plain-core": { type: "boolean" },
        "no-winograd": { type: "boolean" },
        "no-strassen": { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) { console.log(HELP); return 0; }
  if (positionals.length !== 1) throw new InvalidArgumentError(`expected one MODEL argument\n${HELP}`);
  const inputs = values.input ?? [];
  const outputs = values.output ?? [];
  if (inputs.length === 0) throw new InvalidArgumentError("give at least one --input FILE");
  const model = await loadModel(new Uint8Array(readFileSync(positionals[0])), {
    kernels: values.kernels as KernelChoice,
    maxMemoryBytes: values["max-memory"] ? parseBytes(values["max-memory"]) : undefined,
    instantiation: values["plain-core"] ? "core" : undefined,
    ...(values["no-winograd"] ? { winograd: false } : {}),
    ...(values["no-strassen"] ? { strassen: false } : {}),
  });
  if (inputs.length !== model.inputs.length) {
    throw new InvalidArgumentError(`the model has ${model.inputs.length} input(s); got ${inputs.length} --input file(s)`);
  }
  if (outputs.length > model.outputs.length) {
    throw new InvalidArgumentError(`the model has ${model.outputs.length} output(s); got ${outputs.length} --output file(s)`);
  }
  const data = inputs.map((f) => new Uint8Array(readFileSync(f)));
  let rows = -1;
  data.forEach((d, i) => {
    const n = model.inputs[i].byteLength;
    if (d.byteLength === 0 || d.byteLength % n !== 0) {
      throw new InvalidArgumentError(`--input ${inputs[i]}: ${d.byteLength} bytes is not a whole number of input ${i} tensors ` +
        `(${model.inputs[i].typeName} [${model.inputs[i].shape}] = ${n} bytes)`);
    }
    const r = d.byteLength / n;
    if (rows >= 0 && r !== rows) throw new InvalidArgumentError(`input files hold different numbers of rows (${rows} and ${r})`);
    rows = r;
  });
  const results = outputs.map((_, i) => new Uint8Array(model.outputs[i].byteLength * rows));
  const inViews = model.inputs.map((_, i) => { const v = model.input(i); return new Uint8Array(v.buffer, v.byteOffset, v.byteLength); });
  const outViews = outputs.map((_, i) => { const v = model.output(i); return new Uint8Array(v.buffer, v.byteOffset, v.byteLength); });
  for (let r = 0; r < rows; r++) {
    if (rows > 1) model.reset();
    inViews.forEach((v, i) => v.set(data[i].subarray(r * v.byteLength, (r + 1) * v.byteLength)));
    model.invoke();
    outViews.forEach((v, i) => results[i].set(v, r * v.byteLength));
  }
  outputs.forEach((f, i) => writeFileSync(f, results[i]));
  if (!values.quiet) {
    console.error(`qedge run: ${rows} row(s), kernels=${model.kernels} (${model.instantiation}), arena ${model.memory.arenaBytes} B, ` +
      `weights ${model.memory.weightBytes} B, wasm memory ${model.memory.wasmMemoryBytes} B`);
  }
  return 0;
}
