// Block-wise artifact download over MQTT, device side. The device asks for blocks by index
// (a sliding window), checks each block against the digest in its header, writes it at its
// offset in a staging file, and every few blocks makes the data and then the received-block
// map durable. After a drop, a reboot or a broker restart the download resumes from the map.
// The whole file is finally checked against the signed manifest's SHA-256: that, not the
// per-block digests, is what decides.
import { FleetTimeoutError, IntegrityError } from "../fleet/errors.js";
import { sha256Hex, type Manifest } from "../fleet/manifest.js";
import type { BlockHeader } from "../fleet/protocol.js";
import { readJson, removeDurable, writeDurableJson, type Storage } from "./storage.js";

export interface DownloadOptions {
  /** Blocks requested at once. */
  window: number;
  /** With no block arriving for this long, the outstanding ones are asked for again. */
  blockTimeoutMs: number;
  /** Consecutive re-requests without progress before giving up (the download stays resumable). */
  maxStalls: number;
  /** Received blocks between two durable checkpoints. */
  checkpointEvery: number;
}

export const DEFAULT_DOWNLOAD: DownloadOptions = { window: 8, blockTimeoutMs: 3000, maxStalls: 20, checkpointEvery: 8 };

interface StagingMap {
  sha256: string;
  total: number;
  /** Received block indexes, as a base64 bitmap. */
  bitmap: string;
}

export const stagingPaths = (sha: string) => ({ part: `staging/${sha}.part`, map: `staging/${sha}.map.json` });

export class BlockDownload {
  readonly total: number;
  private have: Uint8Array;
  private received = 0;
  private inflight = new Set<number>();
  private sinceCheckpoint = 0;
  private stalls = 0;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void } | null = null;
  private chain: Promise<void> = Promise.resolve();
  private finished = false;
  private online = true;
  private readonly paths;

  constructor(
    private readonly storage: Storage,
    private readonly manifest: Manifest,
    readonly stream: string,
    private readonly request: (blocks: number[]) => void,
    private readonly opts: DownloadOptions = DEFAULT_DOWNLOAD,
  ) {
    this.total = Math.ceil(manifest.size / manifest.blockSize);
    this.have = new Uint8Array(Math.ceil(this.total / 8));
    this.paths = stagingPaths(manifest.sha256);
  }

  get progress(): { received: number; total: number } {
    return { received: this.received, total: this.total };
  }

  private has(i: number): boolean {
    return (this.have[i >> 3] & (1 << (i & 7))) !== 0;
  }

  /** Loads the durable map of an earlier attempt, if any. */
  async resume(): Promise<void> {
    const m = await readJson<StagingMap>(this.storage, this.paths.map);
    if (m && m.sha256 === this.manifest.sha256 && m.total === this.total) {
      const bits = Buffer.from(m.bitmap, "base64");
      if (bits.length === this.have.length) {
        this.have.set(bits);
        this.received = 0;
        for (let i = 0; i < this.total; i++) if (this.has(i)) this.received++;
      }
    }
  }

  /** Runs until every block is in and the file matches the manifest digest. */
  run(): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.pump();
      this.arm();
    });
  }

  /** The link came back: ask again for what was outstanding instead of waiting for the timer. */
  reconnected(): void {
    this.online = true;
    if (this.finished) return;
    this.inflight.clear();
    this.stalls = 0;
    this.pump();
    this.arm();
  }

  disconnected(): void {
    this.online = false;
  }

  cancel(reason: unknown): void {
    if (this.finished) return;
    this.finish();
    this.settle?.reject(reason);
  }

  private finish(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.finished) return;
    this.timer = setTimeout(() => this.stalled(), this.opts.blockTimeoutMs);
  }

  private stalled(): void {
    if (this.finished) return;
    if (this.online && ++this.stalls > this.opts.maxStalls) {
      this.cancel(new FleetTimeoutError(`download of ${this.manifest.modelId}@${this.manifest.version} stalled at block ${this.received}/${this.total}`));
      return;
    }
    this.inflight.clear();
    this.pump();
    this.arm();
  }

  /** Requests missing blocks up to the window. */
  private pump(): void {
    if (this.finished || !this.online) return;
    const want: number[] = [];
    for (let i = 0; i < this.total && this.inflight.size + want.length < this.opts.window; i++) {
      if (!this.has(i) && !this.inflight.has(i)) want.push(i);
    }
    if (this.received === this.total && this.inflight.size === 0) {
      this.enqueue(() => this.complete());
      return;
    }
    if (want.length) {
      want.forEach((i) => this.inflight.add(i));
      this.request(want);
    }
  }

  /** One block arrived (already decoded). Wrong-size or wrong-digest blocks are dropped and re-requested. */
  onBlock(header: BlockHeader, data: Uint8Array): void {
    if (this.finished || header.stream !== this.stream) return;
    const i = header.index;
    if (header.total !== this.total || i >= this.total) return;
    const expected = i === this.total - 1 ? this.manifest.size - i * this.manifest.blockSize : this.manifest.blockSize;
    if (this.has(i)) return;
    if (data.length !== expected || sha256Hex(data) !== header.sha256) {
      this.inflight.delete(i); // corrupted in transit: ask again
      this.pump();
      return;
    }
    const copy = data.slice();
    this.enqueue(async () => {
      if (this.has(i) || this.finished) return;
      await this.storage.writeAt(this.paths.part, i * this.manifest.blockSize, copy);
      this.have[i >> 3] |= 1 << (i & 7);
      this.received++;
      this.inflight.delete(i);
      this.stalls = 0;
      if (++this.sinceCheckpoint >= this.opts.checkpointEvery) await this.checkpoint();
      this.arm();
      this.pump();
    });
  }

  /** Data first, then the map that vouches for it. */
  private async checkpoint(): Promise<void> {
    this.sinceCheckpoint = 0;
    await this.storage.sync(this.paths.part);
    await writeDurableJson(this.storage, this.paths.map, {
      sha256: this.manifest.sha256, total: this.total, bitmap: Buffer.from(this.have).toString("base64"),
    } satisfies StagingMap);
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((e) => this.cancel(e));
  }

  private async complete(): Promise<void> {
    if (this.finished) return;
    this.finish();
    await this.storage.sync(this.paths.part);
    const bytes = await this.storage.read(this.paths.part);
    const full = bytes ? bytes.subarray(0, this.manifest.size) : new Uint8Array(0);
    if (!bytes || bytes.length < this.manifest.size || sha256Hex(full) !== this.manifest.sha256) {
      await discardStaging(this.storage, this.manifest.sha256);
      this.settle?.reject(new IntegrityError(`downloaded ${this.manifest.modelId}@${this.manifest.version} does not match the manifest SHA-256`));
      return;
    }
    this.settle?.resolve(full.slice());
  }
}

export async function discardStaging(storage: Storage, sha: string): Promise<void> {
  const p = stagingPaths(sha);
  await removeDurable(storage, p.map);
  await removeDurable(storage, p.part);
}
