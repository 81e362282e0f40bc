#!/usr/bin/env node
// `qedge` command-line entry: one file per command under host/cli/, loaded on demand.
import { setFlagsFromString } from "node:v8";
import { QedgeError } from "../errors.js";

// Node 20 runs relaxed SIMD only behind this V8 flag; set it before any wasm is compiled so
// `--kernels relaxed` (and auto) can use the relaxed build. Newer Nodes ignore it.
setFlagsFromString("--experimental-wasm-relaxed-simd");

type Command = { summary: string; load: () => Promise<(args: string[]) => Promise<number>> };

const COMMANDS: Record<string, Command> = {
  run: { summary: "run a .tflite model on raw input bytes", load: async () => (await import("./run.js")).runCommand },
  inspect: { summary: "show a model's operators, tensors and arena plan", load: async () => (await import("./inspect.js")).inspectCommand },
  bench: { summary: "measure load time, latency and memory of a model", load: async () => (await import("./bench.js")).benchCommand },
  component: { summary: "inspect a kernel WASI component (component info FILE)", load: async () => (await import("./component.js")).componentCommand },
  qemu: { summary: "run qedge on emulated aarch64 / armv7 / riscv64 (qemu setup | qemu run)", load: async () => (await import("./qemu.js")).qemuCommand },
  broker: { summary: "run the embedded MQTT broker", load: async () => (await import("./broker.js")).brokerCommand },
  device: { summary: "run a device agent", load: async () => (await import("./device.js")).deviceCommand },
  fleet: { summary: "control a fleet: devices, status, deploy, rollback, infer, finetune", load: async () => (await import("./fleet.js")).fleetCommand },
  sim: { summary: "run many simulated boards", load: async () => (await import("./sim.js")).simCommand },
  keygen: { summary: "make an Ed25519 key pair for signing model deployments", load: async () => (await import("./keygen.js")).keygenCommand },
  zoo: { summary: "build qedge's own example models (zoo mnist)", load: async () => (await import("./zoo.js")).zooCommand },
  finetune: { summary: "fine-tune a model on device data", load: async () => (await import("./finetune.js")).finetuneCommand },
  start: { summary: "the main job on embedded defaults (broker + simulated fleet + rollout)", load: async () => (await import("./start.js")).startCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    "usage: qedge <command> [options]   (qedge <command> --help for details)",
    "",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`qedge: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (e) {
    if (e instanceof QedgeError) {
      console.error(`qedge ${name}: ${e.name}: ${e.message}`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === "string" && err.syscall) {
      // File-system errors (missing model or input file, permissions): one line, not a stack.
      console.error(`qedge ${name}: ${err.message}`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  console.error(`qedge: internal error: ${e?.stack ?? e}`);
  process.exitCode = 70;
});
