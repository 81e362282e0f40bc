// ONNX Runtime peers on the same GEMM / convolution shapes: onnxruntime-web (wasm SIMD, one
// thread) and onnxruntime-node (native MLAS, one thread).
// Both packages share onnxruntime-common's backend registry and both register a "cpu" backend;
// onnxruntime-node must be loaded first or its "cpu" resolves to the wasm backend. Every
// session is checked for the handler it really got.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let loaded = null;

export async function loadOrt() {
  if (loaded) return loaded;
  const node = require("onnxruntime-node");
  const web = await import("onnxruntime-web");
  web.env.wasm.numThreads = 1;
  web.env.wasm.proxy = false;
  web.env.logLevel = "error";
  node.env.logLevel = "error";
  loaded = { node, web };
  return loaded;
}

const NATIVE_HANDLER = "OnnxruntimeSessionHandler";

/**
 * A session on an ONNX model with one uint8 input.
 * @param {"web"|"node"} kind
 * @returns {Promise<{ kind: string, input: Uint8Array, run: () => Promise<void>, output: () => ArrayBufferView }>}
 */
export async function createOrtRunner(kind, modelBytes, inputName, inputDims) {
  const { node, web } = await loadOrt();
  const ort = kind === "node" ? node : web;
  const session = await ort.InferenceSession.create(modelBytes, {
    executionProviders: [kind === "node" ? "cpu" : "wasm"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const native = session.handler?.constructor?.name === NATIVE_HANDLER;
  if (native !== (kind === "node")) {
    throw new Error(`onnxruntime-${kind}: session got the wrong backend (${session.handler?.constructor?.name})`);
  }
  const input = new Uint8Array(inputDims.reduce((a, b) => a * b, 1));
  const feeds = { [inputName]: new ort.Tensor("uint8", input, inputDims) };
  const outName = session.outputNames[0];
  let last = null;
  return {
    kind,
    input,
    async run() { last = await session.run(feeds); },
    output() { return last?.[outName]?.data ?? null; },
    async dispose() { await session.release(); },
  };
}
