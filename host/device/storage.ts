// The device's persistent storage, reduced to the primitives whose durability differs:
// a write is not durable until `sync`, a rename or create is not durable until `syncDir`.
// FsStorage maps them to node:fs (real fsync); firmware-sim/flash.ts simulates them with
// power cuts and torn writes. Paths are relative, '/'-separated, inside the storage root.
import { promises as fs, constants as fsc } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { InvalidArgumentError } from "../errors.js";

export interface Storage {
  read(path: string): Promise<Uint8Array | null>;
  /** Creates or truncates and writes the whole file (not durable until sync). */
  write(path: string, data: Uint8Array): Promise<void>;
  /** Writes at an offset, extending the file as needed (not durable until sync). */
  writeAt(path: string, offset: number, data: Uint8Array): Promise<void>;
  sync(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Makes creations, renames and removals in that directory durable. */
  syncDir(dir: string): Promise<void>;
  remove(path: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  mkdir(dir: string): Promise<void>;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/**
 * Replaces `path` atomically and durably: write a temp file, fsync it, rename over the
 * target, fsync the directory. After a power cut the file holds either the old or the new
 * bytes, never a mix.
 */
export async function writeDurable(storage: Storage, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await storage.write(tmp, data);
  await storage.sync(tmp);
  await storage.rename(tmp, path);
  await storage.syncDir(dirOf(path));
}

export async function writeDurableJson(storage: Storage, path: string, value: unknown): Promise<void> {
  await writeDurable(storage, path, Buffer.from(JSON.stringify(value), "utf8"));
}

/** Reads JSON; null when absent or unreadable (a torn or garbage file counts as absent). */
export async function readJson<T>(storage: Storage, path: string): Promise<T | null> {
  const b = await storage.read(path);
  if (!b) return null;
  try {
    return JSON.parse(Buffer.from(b).toString("utf8")) as T;
  } catch {
    return null;
  }
}

export async function removeDurable(storage: Storage, path: string): Promise<void> {
  await storage.remove(path);
  await storage.syncDir(dirOf(path));
}

/** Storage on a real directory with real fsync. */
export class FsStorage implements Storage {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  private p(path: string): string {
    const full = resolve(this.root, path);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new InvalidArgumentError(`storage path '${path}' escapes ${this.root}`);
    return full;
  }

  async read(path: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await fs.readFile(this.p(path)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    await fs.mkdir(dirname(this.p(path)), { recursive: true });
    await fs.writeFile(this.p(path), data);
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    await fs.mkdir(dirname(this.p(path)), { recursive: true });
    const fh = await fs.open(this.p(path), fsc.O_RDWR | fsc.O_CREAT);
    try {
      await fh.write(data, 0, data.length, offset);
    } finally {
      await fh.close();
    }
  }

  async sync(path: string): Promise<void> {
    const fh = await fs.open(this.p(path), "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await fs.mkdir(dirname(this.p(to)), { recursive: true });
    await fs.rename(this.p(from), this.p(to));
  }

  async syncDir(dir: string): Promise<void> {
    let fh;
    try {
      fh = await fs.open(this.p(dir || "."), "r");
      await fh.sync();
    } catch (e) {
      // Some filesystems refuse fsync on directories (EISDIR/EINVAL); the rename is still atomic.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "ENOENT") throw e;
    } finally {
      await fh?.close();
    }
  }

  async remove(path: string): Promise<void> {
    await fs.rm(this.p(path), { force: true, recursive: true });
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.p(dir || "."))).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  async mkdir(dir: string): Promise<void> {
    await fs.mkdir(this.p(dir), { recursive: true });
  }
}

export const joinPath = (...parts: string[]) => join(...parts).split(sep).join("/");
