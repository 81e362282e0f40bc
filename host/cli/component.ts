// qedge component info FILE [--json]: the WIT world, exports, features and size of a kernel component.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { componentInfo, formatComponentInfo } from "../wasm/component-info.js";

export const COMPONENT_HELP = `usage: qedge component info FILE [--json]

Describes a WebAssembly component, e.g. dist/kernels-simd.component.wasm:
  world     the WIT world decoded from the binary (and the world named in manifest.json, if the
            file sits beside the manifest the build wrote)
  imports   what the component needs from its host (the kernel components import nothing)
  exports   the exported interfaces and their functions
  features  WebAssembly features its core code uses (simd, relaxed-simd, ...): a CPU or engine
            without one of them cannot run it
  size      bytes of the component and of its core modules

  --json    print one JSON object instead of the text report
Exit status: 0 on success; 1 with a one-line error if FILE is missing or not a component.`;

export async function componentCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${COMPONENT_HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) { console.log(COMPONENT_HELP); return 0; }
  const [sub, ...files] = positionals;
  if (sub !== "info") throw new InvalidArgumentError(`${sub ? `unknown subcommand '${sub}'` : "missing subcommand"}\n${COMPONENT_HELP}`);
  if (files.length !== 1) throw new InvalidArgumentError(`expected one FILE, got ${files.length}\n${COMPONENT_HELP}`);
  const info = await componentInfo(new Uint8Array(readFileSync(files[0])), files[0]);
  console.log(values.json ? JSON.stringify(info, null, 2) : formatComponentInfo(info));
  return 0;
}
