// A stand-in runtime for protocol tests and very large simulations, where running real
// kernels on every simulated board would only cost CPU. It checks the TFLite file
// identifier (so garbage bytes fail like they would in the real loader), "infers" by
// hashing model digest + input, and reports memory figures derived from the file.
// It never claims to compute a model's real output.
import { createHash } from "node:crypto";
import { MemoryBudgetError, ModelFormatError } from "../errors.js";
import type { ModelRuntime, RunnableModel, RuntimeLoadOptions } from "./runtime.js";

export interface FakeRuntimeOptions {
  /** Arena size reported for a model of `size` bytes (default: size / 4, at least 4 KiB). */
  arenaBytes?: (size: number, bytes: Uint8Array) => number;
  inputBytes?: number;
  outputBytes?: number;
}

export class FakeRuntime implements ModelRuntime {
  readonly name = "fake";
  loads = 0;
  constructor(private readonly opts: FakeRuntimeOptions = {}) {}

  async load(bytes: Uint8Array, opts: RuntimeLoadOptions): Promise<RunnableModel> {
    if (bytes.length < 8 || Buffer.from(bytes.subarray(4, 8)).toString("latin1") !== "TFL3") {
      throw new ModelFormatError("file identifier", "not a TFLite flatbuffer (expected 'TFL3' at byte 4)");
    }
    this.loads++;
    const arenaBytes = this.opts.arenaBytes?.(bytes.length, bytes) ?? Math.max(4096, bytes.length >> 2);
    const wasmMemoryBytes = Math.ceil((arenaBytes + bytes.length + 65536) / 65536) * 65536;
    if (opts.maxMemoryBytes !== undefined && wasmMemoryBytes > opts.maxMemoryBytes) {
      throw new MemoryBudgetError(wasmMemoryBytes, opts.maxMemoryBytes, "fake model memory");
    }
    const digest = createHash("sha256").update(bytes).digest();
    const inputBytes = this.opts.inputBytes ?? 16;
    const outputBytes = this.opts.outputBytes ?? 4;
    return {
      inputs: [{ shape: [1, inputBytes], byteLength: inputBytes, type: "int8" }],
      outputs: [{ shape: [1, outputBytes], byteLength: outputBytes, type: "int8" }],
      memory: { arenaBytes, weightBytes: bytes.length, wasmMemoryBytes },
      kernels: opts.kernels && opts.kernels !== "auto" ? opts.kernels : "scalar",
      async run(inputs: Uint8Array[]): Promise<Uint8Array[]> {
        const h = createHash("sha256").update(digest);
        for (const i of inputs) h.update(i);
        return [new Uint8Array(h.digest().subarray(0, outputBytes))];
      },
      dispose() {},
    };
  }
}

/** A minimal byte string that FakeRuntime accepts: 'TFL3' identifier plus a payload. */
export function fakeModelBytes(label: string, size = 4096): Uint8Array {
  const out = new Uint8Array(size);
  out.set(Buffer.from("\x10\x00\x00\x00TFL3", "latin1"));
  const tag = createHash("sha256").update(label).digest();
  for (let i = 8; i < size; i++) out[i] = tag[i % 32] ^ (i & 0xff);
  return out;
}
