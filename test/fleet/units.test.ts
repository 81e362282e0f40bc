// Broker-independent pieces of fleet control, checked against hand-derived expectations.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canPublish, canSubscribe, derivedDevicePassword, Authenticator, hashPassword } from "../../host/broker/auth.js";
import { ReplayGuard } from "../../host/device/replay.js";
import { SlotStore } from "../../host/device/slots.js";
import { readJson, writeDurable } from "../../host/device/storage.js";
import { LatencyStats } from "../../host/device/telemetry.js";
import { fakeModelBytes } from "../../host/device/fake-runtime.js";
import { ExpiredError, IntegrityError, ManifestError, ProtocolError, ReplayError, SignatureError } from "../../host/fleet/errors.js";
import { buildManifest, canonicalJson, generateSigningKey, parseManifest, signManifest, verifySignedManifest } from "../../host/fleet/manifest.js";
import { decodeBlock, encodeBlock, parseCommand } from "../../host/fleet/protocol.js";
import { planWaves } from "../../host/fleet/rollout.js";
import { parseFaults, rng32 } from "../../firmware-sim/faults.js";
import { SimFlash } from "../../firmware-sim/flash.js";
import { InvalidArgumentError } from "../../host/errors.js";

const keys = () => {
  const k = generateSigningKey();
  return { priv: createPrivateKey(k.privateKeyPem), pub: createPublicKey(k.publicKeyPem) };
};
const wire = (s: ReturnType<typeof signManifest>) => ({ manifest: { ...s.manifest } as Record<string, unknown>, signature: s.signature, keyId: s.keyId });
const text = (b: Uint8Array | null) => (b ? Buffer.from(b).toString("latin1") : null);

describe("manifest signing", () => {
  it("canonical JSON sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: { c: [1, { e: 3, d: 2 }] }, a: 1, z: undefined })).toBe('{"a":1,"b":{"c":[1,{"d":2,"e":3}]}}');
  });

  it("verifies with any trusted key (rotation) and rejects every tampered field", () => {
    const k1 = keys(), k2 = keys(), k3 = keys();
    const bytes = fakeModelBytes("m", 5000);
    const m = buildManifest(bytes, { modelId: "m", version: "1", boards: ["rpi4"], createdAt: "2025-01-01T00:00:00Z" });
    const s = signManifest(m, k2.priv);
    expect(verifySignedManifest(wire(s), [k1.pub, k2.pub]).manifest.sha256).toBe(m.sha256);
    expect(() => verifySignedManifest(wire(s), [k1.pub, k3.pub])).toThrow(SignatureError);
    expect(() => verifySignedManifest(wire(s), [])).toThrow(SignatureError);
    for (const patch of [{ size: m.size + 1 }, { boards: ["*"] }, { version: "2" }, { minKernel: "simd" }, { blockSize: 512 }, { extra: 1 }]) {
      expect(() => verifySignedManifest({ ...wire(s), manifest: { ...s.manifest, ...patch } }, [k2.pub])).toThrow(SignatureError);
    }
    const sig = Buffer.from(s.signature, "base64");
    sig[10] ^= 1;
    expect(() => verifySignedManifest({ ...wire(s), signature: sig.toString("base64") }, [k2.pub])).toThrow(SignatureError);
    expect(() => verifySignedManifest({ ...wire(s), signature: "%%%" }, [k2.pub])).toThrow(SignatureError);
    // A wrong keyId hint does not matter: every trusted key is tried.
    expect(verifySignedManifest({ ...wire(s), keyId: "0000" }, [k2.pub]).keyId).toBe(s.keyId);
  });

  it("validates manifests field by field", () => {
    const m = buildManifest(fakeModelBytes("m", 5000), { modelId: "m", version: "1" });
    expect(() => parseManifest({ ...m, sha256: "xyz" })).toThrow(ManifestError);
    expect(() => parseManifest({ ...m, size: -1 })).toThrow(ManifestError);
    expect(() => parseManifest({ ...m, boards: [] })).toThrow(ManifestError);
    expect(() => parseManifest({ ...m, format: "other" })).toThrow(ManifestError);
    expect(() => parseManifest({ ...m, modelId: "a/b" })).toThrow(ManifestError);
    expect(() => parseManifest("manifest")).toThrow(ManifestError);
  });
});

describe("simulated flash", () => {
  it("loses unsynced data and undurable renames at a power cut", async () => {
    const f = new SimFlash();
    const s = f.mount();
    await s.write("a", Buffer.from("one"));
    await s.sync("a");
    await s.syncDir("");
    await s.write("a", Buffer.from("two")); // not synced
    await s.write("b", Buffer.from("bee"));
    await s.sync("b"); // data durable, directory entry not
    f.powerLoss(rng32(1), 0);
    const s2 = f.mount();
    expect(text(await s2.read("a"))).toBe("one");
    expect(await s2.read("b")).toBeNull();
    await expect(s.read("a")).rejects.toThrow(/powered off/); // handles from before the cut are dead
  });

  it("a torn write leaves new bytes over a prefix and old bytes after it", async () => {
    const f = new SimFlash();
    const s = f.mount();
    await s.write("x", Buffer.from("OLDOLDOLDOLD"));
    await s.sync("x");
    await s.syncDir("");
    await s.write("x", Buffer.from("newnewnewnew"));
    f.powerLoss(rng32(7), 1);
    const got = text(await f.mount().read("x"))!;
    expect(got).toHaveLength(12);
    const k = [...got].findIndex((ch, i) => ch !== "newnewnewnew"[i]);
    const cut = k < 0 ? 12 : k;
    expect(got).toBe("newnewnewnew".slice(0, cut) + "OLDOLDOLDOLD".slice(cut));
    expect(f.stats.tornFiles).toBe(1);
  });

  it("writeDurable: a cut at any of its four operations leaves the old content, intact", async () => {
    for (let op = 1; op <= 4; op++) {
      const f = new SimFlash();
      const s = f.mount();
      await writeDurable(s, "dir/file", Buffer.from("old content"));
      let cut = false;
      f.armCut(op, () => { cut = true; f.powerLoss(rng32(op), 1); });
      await expect(writeDurable(s, "dir/file", Buffer.from("NEW CONTENT!"))).rejects.toThrow(/power cut/);
      expect([op, cut, text(await f.mount().read("dir/file"))]).toEqual([op, true, "old content"]);
    }
    const f = new SimFlash();
    await writeDurable(f.mount(), "dir/file", Buffer.from("NEW CONTENT!"));
    f.powerLoss(rng32(1), 1);
    expect(text(await f.mount().read("dir/file"))).toBe("NEW CONTENT!");
  });
});

describe("A/B slots", () => {
  it("a corrupted active slot fails verification and the other good slot is a boot candidate", async () => {
    const { priv, pub } = keys();
    const f = new SimFlash();
    const slots = new SlotStore(f.mount(), [pub]);
    await slots.load();
    const step = async () => {};
    for (const v of ["1", "2"]) {
      const bytes = fakeModelBytes(`m${v}`, 3000);
      const signed = signManifest(buildManifest(bytes, { modelId: "m", version: v }), priv);
      const slot = await slots.write(signed, bytes, step);
      await slots.commit(slot, step);
    }
    expect(slots.boot.active).toBe("b");
    f.corrupt("slot-b/model.tflite", 100);
    const again = new SlotStore(f.mount(), [pub]);
    await again.load();
    expect(again.candidates()).toEqual(["b", "a"]);
    await expect(again.verify("b")).rejects.toBeInstanceOf(IntegrityError);
    expect((await again.verify("a")).signed.manifest.version).toBe("1");
    // A slot signed by a key no longer trusted does not verify either.
    const other = new SlotStore(f.mount(), [keys().pub]);
    await other.load();
    await expect(other.verify("a")).rejects.toBeInstanceOf(SignatureError);
  });
});

describe("replay guard", () => {
  const cmd = (id: string, ts: number, ttl = 60_000) => ({ id, ts, ttl, replyTo: "r", args: {} });

  it("refuses seen ids (also after reload), old timestamps and expired or future commands", async () => {
    const f = new SimFlash();
    const g = new ReplayGuard(f.mount(), { windowMs: 3600_000, maxSkewMs: 60_000, jitterMs: 1000 });
    const t0 = 1_700_000_000_000;
    await g.admit(cmd("a", t0), t0 + 5);
    await expect(g.admit(cmd("a", t0), t0 + 10)).rejects.toBeInstanceOf(ReplayError);
    await g.admit(cmd("b", t0 + 1000), t0 + 1010);
    // stamped 2 h before the newest seen command, long ttl: outside the 1 h window
    await expect(g.admit(cmd("c", t0 - 2 * 3600_000, 4 * 3600_000), t0 + 1020)).rejects.toBeInstanceOf(ReplayError);
    // ttl 2 s, arriving 10 s after issue (offset estimate ~5 ms): expired
    await expect(g.admit(cmd("d", t0 + 2000, 2000), t0 + 12_000)).rejects.toBeInstanceOf(ExpiredError);
    // 2 min in the future of the device clock: beyond the 1 min skew tolerance
    await expect(g.admit(cmd("e", t0 + 200_000), t0 + 20_000)).rejects.toBeInstanceOf(ExpiredError);
    const g2 = new ReplayGuard(f.mount(), { windowMs: 3600_000, maxSkewMs: 60_000, jitterMs: 1000 });
    await g2.load();
    await expect(g2.admit(cmd("b", t0 + 1000), t0 + 30_000)).rejects.toBeInstanceOf(ReplayError);
    expect(g2.clockOffsetMs).toBe(5);
  });

  it("a device clock 3 min fast still accepts short-lived commands once the offset is known", async () => {
    const g = new ReplayGuard(new SimFlash().mount(), { windowMs: 3600_000, maxSkewMs: 5 * 60_000, jitterMs: 1000 });
    const skew = 180_000;
    await g.admit(cmd("first", 1000, 600_000), 1000 + skew + 20);
    await g.admit(cmd("short", 5000, 2000), 5000 + skew + 30);
    expect(g.clockOffsetMs).toBe(skew + 20);
  });
});

describe("small pieces", () => {
  it("plans waves: canary then growing", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `d${i}`);
    expect(planWaves(ids(10), 1, 2).map((w) => w.length)).toEqual([1, 2, 4, 3]);
    expect(planWaves(ids(5), 2, 1.5).map((w) => w.length)).toEqual([2, 3]);
    expect(planWaves(ids(7), 3, 1).map((w) => w.length)).toEqual([3, 3, 1]);
    expect(planWaves(ids(10), 1, 2).flat()).toEqual(ids(10));
    expect(() => planWaves(ids(3), 0, 2)).toThrow(InvalidArgumentError);
  });

  it("latency percentiles are nearest-rank", () => {
    const l = new LatencyStats(200);
    for (let i = 100; i >= 1; i--) l.add(i);
    expect(l.summary()).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(new LatencyStats(4).summary()).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });

  it("block framing round-trips and rejects garbage", () => {
    const data = new Uint8Array([1, 2, 3, 250]);
    const d = decodeBlock(encodeBlock({ stream: "s", index: 3, total: 9, sha256: "ab" }, data));
    expect(d.header).toEqual({ stream: "s", index: 3, total: 9, sha256: "ab" });
    expect([...d.data]).toEqual([1, 2, 3, 250]);
    expect(() => decodeBlock(new Uint8Array([0, 0, 0]))).toThrow(ProtocolError);
    expect(() => decodeBlock(new Uint8Array([0xff, 0, 0, 0, 1]))).toThrow(ProtocolError);
    expect(() => decodeBlock(Buffer.from("\0\0\0\x02{}xx", "latin1"))).toThrow(ProtocolError);
  });

  it("commands are parsed strictly", () => {
    const ok = { id: "1", ts: 5, ttl: 10, replyTo: "t", args: { a: 1 } };
    expect(parseCommand(Buffer.from(JSON.stringify(ok)))).toEqual(ok);
    for (const bad of [{ ...ok, id: 1 }, { ...ok, ttl: 0 }, { ...ok, ts: "x" }, { ...ok, args: [] }, { ...ok, id: "" }]) {
      expect(() => parseCommand(Buffer.from(JSON.stringify(bad)))).toThrow(ProtocolError);
    }
  });

  it("fault specs parse, and bad ones name the problem", () => {
    const f = parseFaults("seed=5,drop=0.1,powercut=commit|slot-write-model+2,torn=0.5,skew=1000");
    expect(f.powercut).toEqual([{ step: "commit", afterOps: 0 }, { step: "slot-write-model", afterOps: 2 }]);
    expect([f.seed, f.drop, f.torn, f.skew]).toEqual([5, 0.1, 0.5, 1000]);
    expect(() => parseFaults("powercut=nowhere")).toThrow(InvalidArgumentError);
    expect(() => parseFaults("drop=2")).toThrow(InvalidArgumentError);
    expect(() => parseFaults("lightning=1")).toThrow(InvalidArgumentError);
  });

  it("broker ACL: devices only under their own root; controllers under qedge/v1", () => {
    const dev = { username: "d1", role: "device" as const };
    const ctl = { username: "c", role: "controller" as const };
    expect(canPublish(dev, "qedge/v1/d1/status")).toBe(true);
    expect(canPublish(dev, "qedge/v1/d2/status")).toBe(false);
    expect(canPublish(dev, "qedge/v1/d1x/status")).toBe(false);
    expect(canPublish(dev, "other/d1")).toBe(false);
    expect(canSubscribe(dev, "qedge/v1/d1/cmd/+")).toBe(true);
    expect(canSubscribe(dev, "qedge/v1/+/cmd/+")).toBe(false);
    expect(canSubscribe(dev, "#")).toBe(false);
    expect(canPublish(ctl, "qedge/v1/d2/cmd/deploy")).toBe(true);
    expect(canPublish(ctl, "elsewhere")).toBe(false);
    expect(canSubscribe(ctl, "$share/g/qedge/v1/+/stream/+/get")).toBe(true);
    const auth = new Authenticator({ deviceSecret: "s", users: { c: hashPassword("pw", "controller") } });
    expect(auth.check("c", "pw")).toEqual({ username: "c", role: "controller" });
    expect(auth.check("c", "nope")).toBeNull();
    expect(auth.check("d1", derivedDevicePassword("s", "d1"))).toEqual({ username: "d1", role: "device" });
    expect(auth.check("d1", derivedDevicePassword("s", "d2"))).toBeNull();
  });

  it("readJson treats a torn or garbage file as absent", async () => {
    const s = new SimFlash().mount();
    await s.write("j.json", Buffer.from('{"a":'));
    expect(await readJson(s, "j.json")).toBeNull();
  });
});
