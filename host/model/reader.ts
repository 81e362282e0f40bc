// PLACEHOLDER until the loader branch lands (its version replaces this whole file).
import type { ModelGraph } from "./types.js";
import { UnsupportedModelError } from "../errors.js";
export function parseModel(bytes: Uint8Array): ModelGraph {
  throw new UnsupportedModelError("model", `loader not implemented yet (${bytes.byteLength} bytes)`);
}
