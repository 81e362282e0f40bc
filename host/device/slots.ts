// A/B model slots on device storage. `boot.json` is the boot record: which slot is active and
// what each slot holds. Every change to it is write-temp + fsync + rename, so after a power
// cut it is either the old or the new record. A slot's files are only rewritten while the
// record marks that slot "writing", and a slot only becomes active once its model passed the
// health check, so the active slot always names a model that verified.
import type { KeyObject } from "node:crypto";
import { IntegrityError, NoModelError } from "../fleet/errors.js";
import { sha256Hex, verifySignedManifest, type SignedManifest } from "../fleet/manifest.js";
import type { ModelRef } from "../fleet/protocol.js";
import { readJson, writeDurable, writeDurableJson, type Storage } from "./storage.js";

export type SlotName = "a" | "b";
export type SlotState = "empty" | "writing" | "installed" | "good" | "bad";

export interface SlotInfo {
  state: SlotState;
  modelId?: string;
  version?: string;
  sha256?: string;
  size?: number;
}

export interface BootRecord {
  format: 1;
  /** Increments with every rewrite (diagnostics). */
  seq: number;
  active: SlotName | null;
  slots: Record<SlotName, SlotInfo>;
}

export interface VerifiedSlot {
  slot: SlotName;
  signed: SignedManifest;
  bytes: Uint8Array;
}

const BOOT = "boot.json";
const modelPath = (s: SlotName) => `slot-${s}/model.tflite`;
const manifestPath = (s: SlotName) => `slot-${s}/manifest.json`;
export const otherSlot = (s: SlotName): SlotName => (s === "a" ? "b" : "a");

function emptyRecord(): BootRecord {
  return { format: 1, seq: 0, active: null, slots: { a: { state: "empty" }, b: { state: "empty" } } };
}

/** Step names reported to the step hook; fault injection cuts power at these. */
export type InstallStep = "slot-erase" | "slot-write-model" | "slot-write-manifest" | "slot-written" | "commit" | "committed";

export class SlotStore {
  private record: BootRecord = emptyRecord();

  constructor(private readonly storage: Storage, private readonly trusted: KeyObject[]) {}

  get boot(): Readonly<BootRecord> {
    return this.record;
  }

  async load(): Promise<BootRecord> {
    const r = await readJson<BootRecord>(this.storage, BOOT);
    this.record = r && r.format === 1 && r.slots?.a && r.slots?.b ? r : emptyRecord();
    return this.record;
  }

  private async save(): Promise<void> {
    this.record.seq++;
    await writeDurableJson(this.storage, BOOT, this.record);
  }

  activeRef(): ModelRef | null {
    const a = this.record.active;
    if (!a) return null;
    const s = this.record.slots[a];
    return { id: s.modelId ?? "?", version: s.version ?? "?", sha256: s.sha256 ?? "", slot: a };
  }

  /** Reads a slot and checks it end to end: signature by a trusted key, size, SHA-256. */
  async verify(slot: SlotName): Promise<VerifiedSlot> {
    const mbytes = await this.storage.read(manifestPath(slot));
    const bytes = await this.storage.read(modelPath(slot));
    if (!mbytes || !bytes) throw new NoModelError(`slot ${slot}: files missing`);
    let wire;
    try {
      wire = JSON.parse(Buffer.from(mbytes).toString("utf8"));
    } catch {
      throw new IntegrityError(`slot ${slot}: manifest unreadable`);
    }
    const signed = verifySignedManifest(wire, this.trusted);
    if (bytes.length !== signed.manifest.size || sha256Hex(bytes) !== signed.manifest.sha256) {
      throw new IntegrityError(`slot ${slot}: model bytes do not match the signed manifest`);
    }
    return { slot, signed, bytes };
  }

  /** Boot candidates in order: the active slot, then the other one if it was ever good. */
  candidates(): SlotName[] {
    const out: SlotName[] = [];
    const a = this.record.active;
    if (a && this.record.slots[a].state === "good") out.push(a);
    const b = a ? otherSlot(a) : null;
    for (const s of b ? [b] : (["a", "b"] as SlotName[])) if (this.record.slots[s].state === "good" && !out.includes(s)) out.push(s);
    return out;
  }

  /** Records that `slot` booted (falling back if needed) and `failed` slots did not verify. */
  async markBooted(slot: SlotName | null, failed: SlotName[]): Promise<void> {
    let changed = false;
    for (const f of failed) {
      if (this.record.slots[f].state !== "bad") {
        this.record.slots[f] = { ...this.record.slots[f], state: "bad" };
        changed = true;
      }
    }
    if (this.record.active !== slot) {
      this.record.active = slot;
      changed = true;
    }
    if (changed) await this.save();
  }

  /** The slot a new model goes into: never the active one. */
  inactiveSlot(): SlotName {
    return this.record.active ? otherSlot(this.record.active) : "a";
  }

  /** Writes a verified artifact into the inactive slot. `step` is awaited between the durable steps. */
  async write(signed: SignedManifest, bytes: Uint8Array, step: (s: InstallStep) => Promise<void>): Promise<SlotName> {
    const slot = this.inactiveSlot();
    await step("slot-erase");
    this.record.slots[slot] = { state: "writing" };
    await this.save();
    await step("slot-write-model");
    await writeDurable(this.storage, modelPath(slot), bytes);
    await step("slot-write-manifest");
    await writeDurableJson(this.storage, manifestPath(slot), signed);
    const m = signed.manifest;
    this.record.slots[slot] = { state: "installed", modelId: m.modelId, version: m.version, sha256: m.sha256, size: m.size };
    await this.save();
    await step("slot-written");
    return slot;
  }

  /** Makes `slot` the active one (after its health check passed). */
  async commit(slot: SlotName, step: (s: InstallStep) => Promise<void>): Promise<void> {
    await step("commit");
    this.record.slots[slot] = { ...this.record.slots[slot], state: "good" };
    this.record.active = slot;
    await this.save();
    await step("committed");
  }

  async markBad(slot: SlotName): Promise<void> {
    if (this.record.active === slot) return; // never demote the running model here
    this.record.slots[slot] = { ...this.record.slots[slot], state: "bad" };
    await this.save();
  }

  /** Switches to the other slot if it holds a good model; returns the slot now active. */
  async switchTo(slot: SlotName): Promise<void> {
    this.record.active = slot;
    await this.save();
  }
}
