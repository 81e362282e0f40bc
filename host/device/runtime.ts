// The one place the device agent touches the model runtime. The agent depends only on
// ModelRuntime / RunnableModel, so tests and large simulations can swap in FakeRuntime
// (host/device/fake-runtime.ts) while real devices use qedge's wasm runtime (host/index.ts).
import { createHash } from "node:crypto";

export type KernelRequest = "auto" | "scalar" | "simd" | "relaxed";

export interface RuntimeLoadOptions {
  kernels?: KernelRequest;
  maxMemoryBytes?: number;
}

export interface RunnableTensor {
  shape: number[];
  byteLength: number;
  type: number | string;
}

export interface RunnableModel {
  readonly inputs: RunnableTensor[];
  readonly outputs: RunnableTensor[];
  readonly memory: { arenaBytes: number; weightBytes: number; wasmMemoryBytes: number };
  /** Kernel build actually used (scalar / simd / relaxed). */
  readonly kernels: string;
  /** Copies `inputs[i]` bytes in, invokes once, copies every output out. */
  run(inputs: Uint8Array[]): Promise<Uint8Array[]>;
  dispose(): void;
}

export interface ModelRuntime {
  readonly name: string;
  load(bytes: Uint8Array, opts: RuntimeLoadOptions): Promise<RunnableModel>;
}

/** Byte view of a typed-array tensor view (the runtime hands out Int8Array etc.). */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** qedge's own runtime (host/index.ts): loadModel → input(i) / invoke() / output(i). */
export class QedgeRuntime implements ModelRuntime {
  readonly name = "qedge";
  async load(bytes: Uint8Array, opts: RuntimeLoadOptions): Promise<RunnableModel> {
    const { loadModel } = await import("../index.js");
    const model = await loadModel(bytes, { kernels: opts.kernels, maxMemoryBytes: opts.maxMemoryBytes });
    let disposed = false;
    return {
      inputs: model.inputs.map((t) => ({ shape: t.shape, byteLength: t.byteLength, type: t.typeName })),
      outputs: model.outputs.map((t) => ({ shape: t.shape, byteLength: t.byteLength, type: t.typeName })),
      memory: model.memory,
      kernels: model.kernels,
      async run(inputs: Uint8Array[]): Promise<Uint8Array[]> {
        if (disposed) throw new Error("model disposed");
        inputs.forEach((b, i) => bytesOf(model.input(i)).set(b));
        await model.invoke();
        return model.outputs.map((_, i) => bytesOf(model.output(i)).slice());
      },
      dispose() {
        disposed = true;
        (model as unknown as { dispose?: () => void }).dispose?.();
      },
    };
  }
}

/** Deterministic pseudo-random bytes (mulberry32): the self-test input for a seed. */
export function seededBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0 & 0xff;
  }
  return out;
}

/** The self-test inputs of a model: one seeded buffer per input tensor. */
export function selfTestInputs(model: RunnableModel, seed: number): Uint8Array[] {
  return model.inputs.map((t, i) => seededBytes(seed + i, t.byteLength));
}

/** SHA-256 over all output bytes in order: what a manifest's selfTest.outputSha256 pins. */
export function outputsDigest(outputs: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const o of outputs) h.update(o);
  return h.digest("hex");
}
