// qedge finetune MODEL --data DIR|FILE ...: fine-tune an int8 model on local samples and write
// the result, keeping it only if a held-out metric did not get worse.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { loadModel } from "../index.js";
import { loadSamples } from "../train/data.js";
import { Rng } from "../train/rng.js";
import type { TrainableSpec } from "../train/section.js";
import type { EpochInfo, StepInfo, TrainData } from "../train/trainer.js";
import { parseBytes } from "./run.js";

const HELP = `usage: qedge finetune MODEL --data DIR|FILE [--labels FILE] [--out FILE]
                      [--trainable head|bias|last:K|NAME,...] [--epochs N] [--budget BYTES]
                      [--lr X] [--optimizer adam|sgd] [--batch N] [--holdout F | --val DIR|FILE
                      [--val-labels FILE]] [--seed N] [--checkpoint FILE] [--resume FILE]
                      [--force] [--json]

Fine-tunes an int8 .tflite model on your samples. The layers before the first trainable one stay
frozen and run in int8 (the deployed kernels); the rest trains in f32 and is requantized into a
copy of the model in which every frozen tensor is bit-identical. The result is written only if
the held-out metric (accuracy for classifiers, reconstruction error for autoencoders) did not
get worse, unless --force.

Data (--data, --val):
  DIR    every *.bin file (name order) holds one or more raw input tensors (rows of exactly the
         model input's size, int8). Labels: DIR/labels.json, either [label, ...] one per row, or
         {"file.bin": label | [label per row], ...}.
  FILE   raw rows, all in one file; labels via --labels FILE (a JSON array or integers
         separated by whitespace/commas).
  Without labels the model is trained to reproduce its input (autoencoders).

  --trainable   head (default: the last layer with weights), bias (every bias), last:K (the
                last K layers with weights), or a comma list of op<i> / op<i>.weight / op<i>.bias
                / tensor names
  --epochs      passes over the training samples (default 10)
  --budget      extra memory allowed for training, e.g. 256k; over it -> error before training
  --lr          learning rate (default 5e-3 Adam, 5e-2 SGD)
  --optimizer   adam (default) or sgd
  --batch       batch size (default 16)
  --holdout     share of --data held out for the check (default 0.2; ignored with --val)
  --val         separate held-out samples (same format); --val-labels as --labels
  --seed        split and shuffling seed (default 1)
  --checkpoint  write a trainer checkpoint here after training
  --resume      restore a checkpoint before training
  --force       write the result even if the held-out metric got worse
  --json        JSON lines on stdout (also the default when stdout is not a terminal)
  --out         where to write the fine-tuned model
Output: a progress bar (loss, held-out metric) on a terminal; otherwise one JSON object per line:
{"event":"start",...}, {"event":"epoch",...} per epoch, {"event":"done",...}.
Exit status: 0 committed (and written with --out); 3 not committed (held-out metric got worse);
1 with a one-line error on bad input.`;

function parseTrainable(s: string): TrainableSpec {
  if (s === "head" || s === "bias") return s;
  const m = /^last:(\d+)$/.exec(s);
  if (m) return { last: Number(m[1]) };
  const names = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`--trainable: expected head, bias, last:K or names, got '${s}'`);
  return names;
}

function parseNumber(v: string | undefined, name: string, dflt: number, ok: (n: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`--${name} must be ${what}, got '${v}'`);
  return n;
}

function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

const round = (v: number, d = 6) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

export async function finetuneCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        data: { type: "string", short: "d" }, labels: { type: "string" },
        val: { type: "string" }, "val-labels": { type: "string" },
        out: { type: "string", short: "o" }, trainable: { type: "string", default: "head" },
        epochs: { type: "string" }, budget: { type: "string" }, lr: { type: "string" },
        optimizer: { type: "string", default: "adam" }, batch: { type: "string" },
        holdout: { type: "string" }, seed: { type: "string" },
        checkpoint: { type: "string" }, resume: { type: "string" },
        force: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}\n${HELP}`);
  }
  const { values: v, positionals } = parsed;
  if (v.help) { console.log(HELP); return 0; }
  if (positionals.length !== 1) throw new InvalidArgumentError(`expected one MODEL argument\n${HELP}`);
  if (!v.data) throw new InvalidArgumentError("give the training samples with --data DIR|FILE");
  if (v.optimizer !== "adam" && v.optimizer !== "sgd") throw new InvalidArgumentError(`--optimizer must be adam or sgd, got '${v.optimizer}'`);
  const epochs = parseNumber(v.epochs, "epochs", 10, (n) => Number.isInteger(n) && n >= 1 && n <= 100000, "an integer in 1..100000");
  const batch = parseNumber(v.batch, "batch", 16, (n) => Number.isInteger(n) && n >= 1 && n <= 65536, "an integer in 1..65536");
  const lr = parseNumber(v.lr, "lr", v.optimizer === "sgd" ? 5e-2 : 5e-3, (n) => n > 0, "a number > 0");
  const holdout = parseNumber(v.holdout, "holdout", 0.2, (n) => n > 0 && n < 1, "a fraction between 0 and 1");
  const seed = parseNumber(v.seed, "seed", 1, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, "an integer in 0..2^32-1");
  const budget = v.budget !== undefined ? parseBytes(v.budget) : undefined;
  if (budget !== undefined && budget <= 0) throw new InvalidArgumentError("--budget must be more than 0 bytes");
  const trainable = parseTrainable(v.trainable as string);
  const json = v.json || !process.stdout.isTTY;
  const t0 = performance.now();

  const model = await loadModel(new Uint8Array(readFileSync(positionals[0])));
  const rowBytes = model.inputs[0]?.byteLength ?? 0;
  const all = loadSamples(v.data, rowBytes, v.labels);
  let train: TrainData, validation: TrainData;
  if (v.val) {
    const val = loadSamples(v.val, rowBytes, v["val-labels"]);
    train = all; validation = val;
  } else {
    const n = all.inputs.length;
    if (n < 2) throw new InvalidArgumentError(`--data holds ${n} sample(s): need at least 2 to hold some out (or give --val)`);
    const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
    const k = Math.max(1, Math.round(n * holdout));
    const pick = (idx: number[]): TrainData => ({ inputs: idx.map((i) => all.inputs[i]), labels: all.labels ? idx.map((i) => all.labels![i]) : undefined });
    validation = pick(order.slice(0, k));
    train = pick(order.slice(k));
  }

  const emit = (o: object) => console.log(JSON.stringify(o));
  const bar = !json && process.stderr.isTTY;
  const stepsPerEpoch = Math.ceil(train.inputs.length / batch);
  let lastEpoch: EpochInfo | null = null;
  const metricLabel = (e: EpochInfo) => e.validation
    ? (e.validation.metric === "accuracy" ? `acc ${(e.validation.value * 100).toFixed(1)}%` : `${e.validation.metric} ${e.validation.value.toPrecision(4)}`) : "";
  const drawBar = (s: StepInfo) => {
    const within = ((s.step - 1) % stepsPerEpoch) + 1;
    const width = 24, filled = Math.round((width * within) / stepsPerEpoch);
    const line = `epoch ${s.epoch + 1}/${epochs} [${"#".repeat(filled)}${".".repeat(width - filled)}] loss ${s.loss.toFixed(4)}` +
      (lastEpoch ? `  ${metricLabel(lastEpoch)}` : "");
    process.stderr.write(`\r${line}\x1b[K`);
  };
  const trainer = model.trainer({
    trainable, optimizer: v.optimizer as "adam" | "sgd", lr, batchSize: batch, memoryBudgetBytes: budget, validation,
    onStep: bar ? drawBar : undefined,
    onEpoch: (e) => {
      lastEpoch = e;
      if (json) {
        emit({
          event: "epoch", epoch: e.epoch, epochs, loss: round(e.loss), steps: e.steps, seconds: round(e.seconds, 3),
          ...(e.validation ? { metric: e.validation.metric, value: round(e.validation.value) } : {}),
        });
      }
    },
  });
  if (v.resume) trainer.restore(new Uint8Array(readFileSync(v.resume)));
  const before = trainer.evaluate(validation, { on: "deployed" });
  const plan = trainer.memoryReport().planned;
  if (json) {
    emit({
      event: "start", model: positionals[0], trainable: trainer.parameters.filter((p) => p.trainable).map((p) => p.name),
      train_samples: train.inputs.length, held_out_samples: validation.inputs.length, epochs,
      metric: before.metric, before: round(before.value), planned_bytes: plan.totalBytes, budget_bytes: budget ?? null,
    });
  } else {
    console.error(`fine-tuning ${trainer.parameters.filter((p) => p.trainable).map((p) => p.name).join(", ")} on ${train.inputs.length} samples ` +
      `(${validation.inputs.length} held out; ${before.metric} before: ${before.value.toPrecision(4)}); planned extra memory ${plan.totalBytes} B`);
  }
  const fit = trainer.fit(train, { epochs, batchSize: batch, seed });
  if (bar) process.stderr.write("\n");
  if (v.checkpoint) writeAtomic(v.checkpoint, trainer.checkpoint());
  const tuned = trainer.export();
  const r = trainer.commit({ validation, force: v.force });
  if (r.committed && v.out) writeAtomic(v.out, tuned);
  const mem = trainer.memoryReport();
  const seconds = (performance.now() - t0) / 1000;
  if (json) {
    emit({
      event: "done", committed: r.committed, forced: r.forced, reason: r.reason, metric: r.metric,
      higher_is_better: r.higherIsBetter, before: round(r.before), after: round(r.after),
      out: r.committed && v.out ? v.out : null, bytes: tuned.byteLength, epochs: trainer.epochs, steps: fit.steps,
      features_cached: fit.featuresCached, memory_used_bytes: mem.used.totalBytes, memory_planned_bytes: mem.planned.totalBytes,
      training_wasm_bytes: mem.used.trainingWasmBytes, budget_bytes: budget ?? null, seconds: round(seconds, 3),
    });
  } else {
    const fmt = (x: number) => (r.metric === "accuracy" ? `${(x * 100).toFixed(2)}%` : x.toPrecision(4));
    console.log(`${r.metric} on ${validation.inputs.length} held-out samples: ${fmt(r.before)} -> ${fmt(r.after)}`);
    console.log(r.committed ? (v.out ? `written ${v.out} (${tuned.byteLength} bytes)` : "committed (no --out given: nothing written)")
      : `not committed: ${r.reason}`);
    console.log(`extra memory used ${mem.used.totalBytes} B (planned ${mem.planned.totalBytes} B${budget ? `, budget ${budget} B` : ""}); ${seconds.toFixed(2)} s`);
  }
  return r.committed ? 0 : 3;
}
