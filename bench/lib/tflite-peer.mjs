// TFLite's own WebAssembly build (npm @tensorflow/tfjs-tflite 0.0.1-alpha.10, XNNPACK delegate),
// driven directly: its loadTFLiteModel needs a browser ("self is not defined"), so the emscripten
// script is evaluated in this context and the runner is created from a heap copy of the model.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import vm from "node:vm";

const require = createRequire(import.meta.url);
const WASM_DIR = join(dirname(require.resolve("@tensorflow/tfjs-tflite/package.json")), "wasm");

const modules = new Map();
let quietLog = [];

/**
 * The emscripten module of one variant: "simd" (tflite_web_api_cc_simd) or "scalar" (tflite_web_api_cc).
 * Both scripts define the same global factory, so each is evaluated and its factory taken at once.
 */
export async function tfliteModule(variant) {
  if (modules.has(variant)) return modules.get(variant);
  const base = variant === "simd" ? "tflite_web_api_cc_simd" : "tflite_web_api_cc";
  // The script's Node branch calls require("fs") / require("path"); give it one.
  globalThis.require ??= require;
  vm.runInThisContext(readFileSync(join(WASM_DIR, `${base}.js`), "utf8"), { filename: `${base}.js` });
  const factory = globalThis.tflite_web_api_ModuleFactory;
  const mod = await factory({
    wasmBinary: readFileSync(join(WASM_DIR, `${base}.wasm`)),
    print: (s) => quietLog.push(s),
    printErr: (s) => quietLog.push(s),
  });
  modules.set(variant, mod);
  return mod;
}

function bytesOf(v) { return new Uint8Array(v.buffer, v.byteOffset, v.byteLength); }

/**
 * A one-thread runner on `modelBytes`; throws Error(<TFLite's message>) when TFLite refuses the
 * model. invoke() is Infer(); input(i) / output(i) are byte views of the tensors in the heap.
 */
export async function createTfliteRunner(variant, modelBytes) {
  const mod = await tfliteModule(variant);
  quietLog = [];
  const ptr = mod._malloc(modelBytes.byteLength);
  mod.HEAPU8.set(modelBytes, ptr);
  const status = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, modelBytes.byteLength, {
    numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024,
  });
  if (!status.ok()) {
    const msg = status.errorMessage();
    status.delete?.();
    mod._free(ptr);
    const detail = [...new Set(quietLog.filter((l) => !l.startsWith("INFO:")))].slice(0, 3).join(" | ");
    throw new Error(`TFLite-wasm refused the model: ${msg}${detail ? ` (${detail})` : ""}`);
  }
  const runner = status.value();
  const inputs = runner.GetInputs();
  const outputs = runner.GetOutputs();
  const nIn = inputs.size();
  const nOut = outputs.size();
  let inViews = [];
  let outViews = [];
  // Views go stale if the heap grows; re-read them lazily.
  const refresh = () => {
    inViews = Array.from({ length: nIn }, (_, i) => bytesOf(inputs.get(i).data()));
    outViews = Array.from({ length: nOut }, (_, i) => bytesOf(outputs.get(i).data()));
  };
  refresh();
  const fresh = () => { if (inViews.some((v) => v.buffer !== mod.HEAPU8.buffer)) refresh(); };
  return {
    variant,
    inputCount: nIn,
    /** Element types of the inputs as TFLite names them ("int8", "float32", ...). */
    inputTypes: Array.from({ length: nIn }, (_, i) => inputs.get(i).dataType),
    input(i) { fresh(); return inViews[i]; },
    output(i) { fresh(); return outViews[i]; },
    invoke() {
      if (!runner.Infer()) throw new Error(`TFLite-wasm Infer() failed: ${quietLog.slice(-3).join(" | ")}`);
    },
    dispose() {
      runner.delete?.();
      mod._free(ptr);
    },
  };
}
