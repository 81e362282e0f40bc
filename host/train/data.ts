// The on-disk sample format of `qedge finetune` (documented in README.md here):
//
//   DIR   every *.bin file in DIR, in name order, holds one or more raw input tensors (rows of
//         exactly the model input's byte size, int8 as stored in memory). Labels, if any, come
//         from DIR/labels.json: an array of integers (one per row, files in name order), or an
//         object mapping a file name to an integer (every row of that file) or to an array of
//         integers (one per row).
//   FILE  raw rows as above, all in one file; labels from a separate file (--labels).
//   labels file (--labels, overrides labels.json): a JSON array of integers, or integers
//         separated by whitespace / commas.
//
// Without labels the samples are for autoencoders: the target of each row is the row itself.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { InvalidArgumentError } from "../errors.js";

export interface SampleSet {
  inputs: Int8Array[];
  labels?: number[];
  /** Where each row came from ("file.bin" or "file.bin#3"), for messages. */
  sources: string[];
}

function rowsOf(bytes: Uint8Array, rowBytes: number, where: string): Int8Array[] {
  if (bytes.byteLength === 0 || bytes.byteLength % rowBytes !== 0) {
    throw new InvalidArgumentError(`${where}: ${bytes.byteLength} bytes is not a whole number of ${rowBytes}-byte input tensors`);
  }
  const out: Int8Array[] = [];
  for (let o = 0; o < bytes.byteLength; o += rowBytes) out.push(new Int8Array(bytes.buffer, bytes.byteOffset + o, rowBytes));
  return out;
}

function checkLabel(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${where}: label ${JSON.stringify(v)} is not an integer >= 0`);
  return v;
}

/** Labels from a file: a JSON array of integers, or integers separated by whitespace or commas. */
export function readLabelsFile(file: string): number[] {
  const text = readFileSync(file, "utf8").trim();
  if (text.startsWith("[")) {
    let arr: unknown;
    try { arr = JSON.parse(text); } catch (e) { throw new InvalidArgumentError(`${file}: not valid JSON (${(e as Error).message})`); }
    if (!Array.isArray(arr)) throw new InvalidArgumentError(`${file}: expected an array of integers`);
    return arr.map((v, i) => checkLabel(v, `${file}[${i}]`));
  }
  if (text === "") return [];
  return text.split(/[\s,]+/).map((s, i) => {
    if (!/^\d+$/.test(s)) throw new InvalidArgumentError(`${file}: item ${i} ('${s}') is not an integer >= 0`);
    return Number(s);
  });
}

/** Read samples from a directory or a file of rows (see the format above). */
export function loadSamples(path: string, rowBytes: number, labelsFile?: string): SampleSet {
  if (!existsSync(path)) throw new InvalidArgumentError(`${path}: no such file or directory`);
  const inputs: Int8Array[] = [];
  const sources: string[] = [];
  let labels: number[] | undefined;
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path).filter((f) => f.endsWith(".bin")).sort();
    if (files.length === 0) throw new InvalidArgumentError(`${path}: no .bin files`);
    const perFile: number[] = [];
    for (const f of files) {
      const rows = rowsOf(new Uint8Array(readFileSync(join(path, f))), rowBytes, join(path, f));
      perFile.push(rows.length);
      rows.forEach((r, i) => { inputs.push(r); sources.push(rows.length > 1 ? `${f}#${i}` : f); });
    }
    const lj = join(path, "labels.json");
    if (!labelsFile && existsSync(lj)) {
      let spec: unknown;
      try { spec = JSON.parse(readFileSync(lj, "utf8")); } catch (e) { throw new InvalidArgumentError(`${lj}: not valid JSON (${(e as Error).message})`); }
      if (Array.isArray(spec)) {
        labels = spec.map((v, i) => checkLabel(v, `${lj}[${i}]`));
      } else if (spec && typeof spec === "object") {
        const map = spec as Record<string, unknown>;
        labels = [];
        files.forEach((f, k) => {
          const v = map[f];
          if (v === undefined) throw new InvalidArgumentError(`${lj}: no label for ${f}`);
          if (Array.isArray(v)) {
            if (v.length !== perFile[k]) throw new InvalidArgumentError(`${lj}: ${f} has ${perFile[k]} rows but ${v.length} labels`);
            v.forEach((x, i) => labels!.push(checkLabel(x, `${lj}: ${f}[${i}]`)));
          } else {
            const c = checkLabel(v, `${lj}: ${f}`);
            for (let i = 0; i < perFile[k]; i++) labels!.push(c);
          }
        });
        for (const k of Object.keys(map)) if (!files.includes(k)) throw new InvalidArgumentError(`${lj}: ${k} is not a .bin file in ${path}`);
      } else {
        throw new InvalidArgumentError(`${lj}: expected an array of labels or an object of file name -> label(s)`);
      }
    }
  } else {
    const rows = rowsOf(new Uint8Array(readFileSync(path)), rowBytes, path);
    rows.forEach((r, i) => { inputs.push(r); sources.push(`${basename(path)}#${i}`); });
  }
  if (labelsFile) labels = readLabelsFile(labelsFile);
  if (labels && labels.length !== inputs.length) {
    throw new InvalidArgumentError(`${labelsFile ?? join(path, "labels.json")}: ${labels.length} labels for ${inputs.length} samples`);
  }
  return { inputs, labels, sources };
}
