// The device side of the `finetune` command: adapt the running model to samples sent with the
// command, through the fine-tuning API (host/train), and put the result in service only when
// held-out samples say it did not get worse. The signed model in the slot stays the boot model.
import { createHash } from "node:crypto";
import type { FinetuneContext } from "./agent.js";
import { InvalidArgumentError } from "../errors.js";
import { parseBytes } from "../cli/run.js";

const MAX_SAMPLES = 10_000;

function b64(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string") throw new InvalidArgumentError(`${what}: expected a base64 string`);
  return new Uint8Array(Buffer.from(v, "base64"));
}

/**
 * args: { inputs: base64[] (raw bytes of input 0 per sample), labels?: number[] (classifiers;
 * absent = autoencoder), trainable?: "head" | "bias" | {last: k} | names[], epochs?: number,
 * budget?: number | "256k", lr?: number, force?: boolean }.
 */
export async function deviceFinetune(ctx: FinetuneContext): Promise<Record<string, unknown>> {
  const a = ctx.args ?? {};
  if (!Array.isArray(a.inputs)) throw new InvalidArgumentError("finetune: args.inputs must be an array of base64 samples");
  if (a.inputs.length > MAX_SAMPLES) throw new InvalidArgumentError(`finetune: at most ${MAX_SAMPLES} samples per command`);
  const want = ctx.model.inputs[0]?.byteLength;
  const inputs = a.inputs.map((x: unknown, i: number) => {
    const bytes = b64(x, `finetune: inputs[${i}]`);
    if (bytes.byteLength !== want) throw new InvalidArgumentError(`finetune: inputs[${i}] has ${bytes.byteLength} bytes, the model's input needs ${want}`);
    return bytes;
  });
  let labels: number[] | undefined;
  if (a.labels !== undefined) {
    if (!Array.isArray(a.labels) || !a.labels.every((l: unknown) => Number.isInteger(l))) {
      throw new InvalidArgumentError("finetune: args.labels must be an array of integers");
    }
    labels = a.labels as number[];
  }
  const num = (v: unknown, what: string, lo: number, hi: number): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !(v >= lo && v <= hi)) throw new InvalidArgumentError(`finetune: ${what} must be a number in [${lo}, ${hi}]`);
    return v;
  };
  const budgetBytes = typeof a.budget === "string" ? parseBytes(a.budget) : num(a.budget, "budget", 1, 2 ** 31);
  const { finetuneOnDevice } = await import("../train/index.js");
  const r = await finetuneOnDevice(ctx.bytes, { inputs, labels }, {
    trainable: (a.trainable as never) ?? "head",
    epochs: num(a.epochs, "epochs", 1, 1000),
    lr: num(a.lr, "lr", 1e-7, 10),
    budgetBytes,
    force: a.force === true,
  });
  if (r.committed) await ctx.swap(r.bytes);
  return {
    committed: r.committed, reason: r.reason, metric: r.metric, before: r.before, after: r.after,
    higherIsBetter: r.higherIsBetter, memoryBytes: r.memoryBytes, trainCount: r.trainCount,
    heldOutCount: r.heldOutCount, epochs: r.epochs, seconds: r.seconds,
    tunedSha256: r.committed ? createHash("sha256").update(r.bytes).digest("hex") : null,
    note: "the tuned model runs until the next reboot or deployment; the signed slot model stays the boot model",
  };
}
