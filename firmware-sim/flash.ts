// Simulated flash with power-loss semantics, implementing the agent's Storage interface.
//
// Two views are kept: what the running system sees (`cur`) and what would survive a power
// cut (`disk`). File contents become durable on sync(); creations, renames and removals on
// syncDir() of their directory. A power cut drops everything not durable, and with some
// probability leaves a file torn: a prefix of the unsynced new bytes over the old ones.
// After a cut, storage handles from before it fail with PowerCutError forever, so code still
// running from the "previous boot" cannot touch the new one.
//
// With a backing directory the durable state is mirrored to real files, so a simulated board
// keeps its flash across runs of `qedge sim`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { PowerCutError } from "../host/fleet/errors.js";
import type { Storage } from "../host/device/storage.js";

interface Inode {
  cur: Uint8Array;
  /** Durable content; null = never synced. */
  disk: Uint8Array | null;
}

export interface FlashStats {
  ops: number;
  writes: number;
  bytesWritten: number;
  syncs: number;
  powerCuts: number;
  tornFiles: number;
}

const dirOf = (p: string) => (p.lastIndexOf("/") < 0 ? "" : p.slice(0, p.lastIndexOf("/")));

function normal(path: string): string {
  const p = path.split("/").filter((x) => x && x !== ".").join("/");
  if (p.split("/").includes("..")) throw new Error(`flash path '${path}' escapes the flash`);
  return p;
}

export class SimFlash {
  private inodes = new Map<number, Inode>();
  private nextIno = 1;
  private curDir = new Map<string, number>();
  private diskDir = new Map<string, number>();
  private generation = 0;
  private dead = false;
  private cutCountdown: number | null = null;
  private cutHandler: (() => void) | null = null;
  readonly stats: FlashStats = { ops: 0, writes: 0, bytesWritten: 0, syncs: 0, powerCuts: 0, tornFiles: 0 };

  constructor(private readonly backingDir?: string) {
    if (backingDir && existsSync(backingDir)) this.loadBacking(backingDir);
  }

  /** A storage handle for the current boot. */
  mount(): Storage {
    const gen = this.generation;
    const guard = () => {
      if (this.dead || gen !== this.generation) throw new PowerCutError("flash is powered off");
      this.stats.ops++;
      if (this.cutCountdown !== null && --this.cutCountdown <= 0) {
        this.cutCountdown = null;
        this.dead = true;
        const h = this.cutHandler;
        this.cutHandler = null;
        h?.();
        throw new PowerCutError("power cut during a flash operation");
      }
    };
    return {
      read: async (p) => { guard(); return this.read(normal(p)); },
      write: async (p, d) => { guard(); this.write(normal(p), d); },
      writeAt: async (p, o, d) => { guard(); this.writeAt(normal(p), o, d); },
      sync: async (p) => { guard(); this.sync(normal(p)); },
      rename: async (a, b) => { guard(); this.rename(normal(a), normal(b)); },
      syncDir: async (d) => { guard(); this.syncDir(normal(d)); },
      remove: async (p) => { guard(); this.remove(normal(p)); },
      list: async (d) => { guard(); return this.list(normal(d)); },
      mkdir: async () => { guard(); },
    };
  }

  /**
   * Arms a cut at the n-th storage operation from now: that operation does not happen, the
   * handler runs (the simulator kills the agent and applies the power loss) and the caller
   * gets PowerCutError.
   */
  armCut(afterOps: number, handler: () => void): void {
    this.cutCountdown = Math.max(1, afterOps);
    this.cutHandler = handler;
  }

  disarm(): void {
    this.cutCountdown = null;
    this.cutHandler = null;
  }

  get powered(): boolean {
    return !this.dead;
  }

  /**
   * Power loss: undurable data and directory changes vanish; each file with unsynced data is
   * torn with probability `tornProbability` (rng in [0,1)). Then power comes back (new generation).
   */
  powerLoss(rng: () => number = Math.random, tornProbability = 0): void {
    this.stats.powerCuts++;
    for (const [ino, node] of this.inodes) {
      if (node.disk !== null && node.cur === node.disk) continue;
      if (tornProbability > 0 && rng() < tornProbability && node.cur.length > 0) {
        const old = node.disk ?? new Uint8Array(0);
        const k = Math.floor(rng() * node.cur.length);
        const out = new Uint8Array(Math.max(k, old.length));
        out.set(old);
        out.set(node.cur.subarray(0, k));
        node.disk = out;
        this.stats.tornFiles++;
      }
      node.cur = node.disk ?? new Uint8Array(0);
      if (node.disk === null && ![...this.diskDir.values()].includes(ino)) this.inodes.delete(ino);
    }
    this.curDir = new Map(this.diskDir);
    for (const ino of this.curDir.values()) {
      const n = this.inodes.get(ino);
      if (n && n.disk === null) n.disk = n.cur = new Uint8Array(0); // entry durable, data never synced
    }
    for (const ino of [...this.inodes.keys()]) if (![...this.curDir.values()].includes(ino)) this.inodes.delete(ino);
    this.generation++;
    this.dead = false;
    this.cutCountdown = null;
    this.cutHandler = null;
    this.flushBacking();
  }

  /** Flips one byte of a file (durably): bit rot, to test boot-time verification. */
  corrupt(path: string, offset = 0): void {
    const ino = this.curDir.get(normal(path));
    if (ino === undefined) throw new Error(`no file ${path}`);
    const n = this.inodes.get(ino)!;
    const c = n.cur.slice();
    if (c.length === 0) return;
    c[offset % c.length] ^= 0xff;
    n.cur = c;
    n.disk = c;
    this.flushBacking();
  }

  files(): string[] {
    return [...this.curDir.keys()].sort();
  }

  // ------------------------------------------------------------------ operations

  private read(p: string): Uint8Array | null {
    const ino = this.curDir.get(p);
    return ino === undefined ? null : this.inodes.get(ino)!.cur.slice();
  }

  private node(p: string): Inode {
    let ino = this.curDir.get(p);
    if (ino === undefined) {
      ino = this.nextIno++;
      this.inodes.set(ino, { cur: new Uint8Array(0), disk: null });
      this.curDir.set(p, ino);
    }
    return this.inodes.get(ino)!;
  }

  private write(p: string, d: Uint8Array): void {
    this.stats.writes++;
    this.stats.bytesWritten += d.length;
    this.node(p).cur = d.slice();
  }

  private writeAt(p: string, off: number, d: Uint8Array): void {
    this.stats.writes++;
    this.stats.bytesWritten += d.length;
    const n = this.node(p);
    const out = new Uint8Array(Math.max(n.cur.length, off + d.length));
    out.set(n.cur);
    out.set(d, off);
    n.cur = out;
  }

  private sync(p: string): void {
    this.stats.syncs++;
    const ino = this.curDir.get(p);
    if (ino === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
    const n = this.inodes.get(ino)!;
    n.disk = n.cur;
    if (this.diskDir.get(p) === ino) this.flushBacking();
  }

  private rename(a: string, b: string): void {
    const ino = this.curDir.get(a);
    if (ino === undefined) throw Object.assign(new Error(`ENOENT: ${a}`), { code: "ENOENT" });
    this.curDir.delete(a);
    this.curDir.set(b, ino);
  }

  private syncDir(d: string): void {
    this.stats.syncs++;
    for (const p of [...this.diskDir.keys()]) if (dirOf(p) === d && !this.curDir.has(p)) this.diskDir.delete(p);
    for (const [p, ino] of this.curDir) if (dirOf(p) === d) this.diskDir.set(p, ino);
    this.flushBacking();
  }

  private remove(p: string): void {
    this.curDir.delete(p);
    for (const k of [...this.curDir.keys()]) if (k.startsWith(`${p}/`)) this.curDir.delete(k);
  }

  private list(d: string): string[] {
    const pre = d ? `${d}/` : "";
    const out = new Set<string>();
    for (const p of this.curDir.keys()) if (p.startsWith(pre)) out.add(p.slice(pre.length).split("/")[0]);
    return [...out].sort();
  }

  // ------------------------------------------------------------------ backing directory

  private loadBacking(root: string): void {
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else {
          const p = relative(root, full).split(sep).join("/");
          const data = new Uint8Array(readFileSync(full));
          const ino = this.nextIno++;
          this.inodes.set(ino, { cur: data, disk: data });
          this.curDir.set(p, ino);
          this.diskDir.set(p, ino);
          this.mirrored.set(p, data);
        }
      }
    };
    walk(root);
  }

  /** Mirrors the durable state to the backing directory (whole-state rewrite of changed files). */
  private mirrored = new Map<string, Uint8Array>();
  private flushBacking(): void {
    const root = this.backingDir;
    if (!root) return;
    const live = new Set<string>();
    for (const [p, ino] of this.diskDir) {
      const d = this.inodes.get(ino)?.disk ?? new Uint8Array(0);
      live.add(p);
      if (this.mirrored.get(p) === d) continue;
      const full = join(root, ...p.split("/"));
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, d);
      this.mirrored.set(p, d);
    }
    for (const p of [...this.mirrored.keys()]) {
      if (!live.has(p)) {
        rmSync(join(root, ...p.split("/")), { force: true });
        this.mirrored.delete(p);
      }
    }
  }
}
