// qedge's public library API.
import { parseModel } from "./model/reader.js";
import { createModel, createModelAsync, Model, type LoadOptions } from "./runtime/model.js";

/**
 * Parse, validate and compile a .tflite model; ready to invoke. Throws a QedgeError subclass on bad input.
 * The kernels run as a WASI component by default (opts.instantiation "core" selects the plain core module).
 */
export async function loadModel(bytes: Uint8Array, opts: LoadOptions = {}): Promise<Model> {
  return createModelAsync(parseModel(bytes), opts);
}

export function loadModelSync(bytes: Uint8Array, opts: LoadOptions = {}): Model {
  return createModel(parseModel(bytes), opts);
}

export { Model, parseModel };
export type { LoadOptions };
export type { MemoryReport, TensorInfo, TensorView } from "./runtime/model.js";
export { quantize, dequantize } from "./runtime/quantize-api.js";
export { supportedBuilds, chooseBuild, type KernelBuild, type KernelChoice } from "./wasm/kernels.js";
export * from "./errors.js";
export * from "./train/index.js";
export type { ModelGraph, Tensor, Operator } from "./model/types.js";
