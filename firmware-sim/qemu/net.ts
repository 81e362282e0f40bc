// Plain HTTP(S) downloads to a file, atomically (a partial download never looks complete).
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { QemuSetupError } from "./errors.js";

export async function downloadTo(url: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new QemuSetupError(`cannot reach ${url}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) throw new QemuSetupError(`GET ${url}: HTTP ${res.status}`);
  try {
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(part));
  } catch (e) {
    await rm(part, { force: true });
    throw new QemuSetupError(`GET ${url}: ${(e as Error).message}`);
  }
  await rename(part, dest);
}
