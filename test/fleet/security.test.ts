// Hostile and broken inputs, on each broker: corrupted blocks, a wrong artifact behind a good
// manifest, a wrong signature, a tampered manifest, an oversized artifact, replayed and
// expired commands, malformed payloads, and a device trying to use another device's topics.
// The installed model must never change and the agent must keep answering.
import { createPrivateKey } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { derivedDevicePassword } from "../../host/broker/auth.js";
import { fakeModelBytes } from "../../host/device/fake-runtime.js";
import { buildManifest, generateSigningKey, signManifest } from "../../host/fleet/manifest.js";
import { topics, type ReplyMessage } from "../../host/fleet/protocol.js";
import {
  BROKER_CASES, CONTROLLER_PASSWORD, CONTROLLER_USER, FLEET_SECRET, NO_MOSQUITTO, skipCase, startFleet, until, type FleetHarness,
} from "./harness.js";

/** A raw controller-side client that sends hand-made commands and collects replies. */
async function rawController(h: FleetHarness, replyLevel = "raw") {
  const cl = await h.rawClient(CONTROLLER_USER, CONTROLLER_PASSWORD, `raw-${Math.random().toString(36).slice(2)}`);
  const replies: ReplyMessage[] = [];
  const commands: { topic: string; payload: Buffer }[] = [];
  cl.on("message", (topic, payload) => {
    if (topic.includes("/reply/")) replies.push(JSON.parse(payload.toString()));
    else if (topic.includes("/cmd/")) commands.push({ topic, payload: Buffer.from(payload) });
  });
  await cl.subscribeAsync({ [`qedge/v1/+/reply/${replyLevel}`]: { qos: 1 }, "qedge/v1/+/cmd/+": { qos: 1 } });
  const send = (device: string, cmd: string, body: unknown) =>
    cl.publishAsync(topics.cmd(device, cmd), typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body), { qos: 1 });
  const replyTo = (device: string) => topics.reply(device, replyLevel);
  const waitReply = async (id: string, phase?: string) => {
    await until(() => replies.some((r) => r.id === id && (!phase || r.phase === phase)), `reply ${phase ?? ""} to ${id}`);
    return replies.find((r) => r.id === id && (!phase || r.phase === phase))!;
  };
  return { cl, replies, commands, send, replyTo, waitReply };
}

for (const c of BROKER_CASES) {
  describe.skipIf(skipCase(c))(`security on ${c.name}`, () => {
    if (skipCase(c)) console.warn(NO_MOSQUITTO);
    let h: FleetHarness;
    let v1sha = "";
    let corrupted = 0;
    const corruptOnce = new Set<string>();
    beforeEach(async () => {
      corrupted = 0;
      corruptOnce.clear();
      h = await startFleet(c, {
        devices: 4, extraIds: ["rogue"],
        controller: {
          // Transport corruption: the first copy of block 1 sent to each device has a flipped byte.
          transformBlock: (device, index, data) => {
            if (index !== 1 || corruptOnce.has(device) || !(globalThis as { corruptBlocks?: boolean }).corruptBlocks) return data;
            corruptOnce.add(device);
            corrupted++;
            const bad = data.slice();
            bad[7] ^= 0x40;
            return bad;
          },
        },
      });
      const v1 = await h.artifact("base", "1");
      const rep = await h.rollout(v1, { canary: 4 });
      expect(rep.totals.succeeded).toBe(4);
      v1sha = v1.signed.manifest.sha256;
    });
    afterEach(async () => {
      (globalThis as { corruptBlocks?: boolean }).corruptBlocks = false;
      await h.close();
    });

    const allStillOnV1 = async () => {
      for (const b of h.fleet.boards) {
        expect(await h.verifiedModel(b.id)).toBe(v1sha);
        expect(b.agent!.activeModel?.sha256).toBe(v1sha);
      }
    };

    it("corrupted blocks in transit are re-requested and the install succeeds", async () => {
      (globalThis as { corruptBlocks?: boolean }).corruptBlocks = true;
      const v2 = await h.artifact("base", "2", { size: 50_000 });
      const rep = await h.rollout(v2, { canary: 4 });
      expect(corrupted).toBe(4);
      expect(rep.totals.succeeded).toBe(4);
      for (const b of h.fleet.boards) expect(await h.verifiedModel(b.id)).toBe(v2.signed.manifest.sha256);
    });

    it("a served file that does not match the signed digest fails the canary and aborts; nothing changes", async () => {
      const v2 = await h.artifact("base", "2");
      // Same manifest, other bytes in the controller's store: every block passes its own digest.
      await h.store.saveArtifact(v2.signed.manifest.sha256, fakeModelBytes("evil", v2.bytes.length));
      const rep = await h.rollout(v2, { canary: 1 });
      expect(rep.phase).toBe("aborted");
      expect(rep.totals.failed).toBe(1);
      expect(rep.totals.skipped).toBe(3);
      expect(rep.devices.find((d) => d.state === "failed")!.error).toMatch(/^IntegrityError/);
      await allStillOnV1();
    });

    it("a manifest signed by an untrusted key is rejected", async () => {
      const other = createPrivateKey(generateSigningKey().privateKeyPem);
      const bad = await h.artifact("base", "2", { key: other });
      const rep = await h.rollout(bad, { canary: 2 });
      expect(rep.phase).toBe("aborted");
      expect(rep.totals.failed).toBe(2);
      expect(rep.devices.filter((d) => d.state === "failed").every((d) => d.error!.startsWith("SignatureError"))).toBe(true);
      await allStillOnV1();
    });

    it("a tampered manifest (boards, size, digest) is rejected", async () => {
      const r = await rawController(h);
      const good = await h.artifact("base", "2");
      const edits: Record<string, unknown>[] = [{ boards: ["rpi4", "everything"] }, { size: good.bytes.length + 1 }, { sha256: v1sha }, { version: "9" }];
      for (const [i, e] of edits.entries()) {
        const deployment = { ...good.deployment, signed: { ...good.deployment.signed, manifest: { ...good.deployment.signed.manifest, ...e } } };
        const id = `tamper-${i}`;
        await r.send("dev-001", "deploy", { id, ts: Date.now(), ttl: 60_000, replyTo: r.replyTo("dev-001"), args: deployment });
        const rep = await r.waitReply(id);
        expect(rep.phase).toBe("rejected");
        expect(rep.error!.type).toBe("SignatureError");
      }
      await r.cl.endAsync();
      await allStillOnV1();
    });

    it("an oversized artifact (validly signed) is rejected before any download", async () => {
      const r = await rawController(h);
      const m = buildManifest(fakeModelBytes("huge", 1000), { modelId: "huge", version: "1" });
      const signed = signManifest({ ...m, size: 2_000_000_000 }, h.priv);
      await r.send("dev-002", "deploy", {
        id: "big", ts: Date.now(), ttl: 60_000, replyTo: r.replyTo("dev-002"),
        args: { signed: { manifest: signed.manifest, signature: signed.signature, keyId: signed.keyId }, stream: "m-huge" },
      });
      const rep = await r.waitReply("big");
      expect(rep.phase).toBe("rejected");
      expect(rep.error!.type).toBe("ArtifactTooLargeError");
      await r.cl.endAsync();
      await allStillOnV1();
    });

    it("replayed commands are rejected, also after a reboot; an old timestamp outside the window is rejected", async () => {
      const r = await rawController(h);
      const cmd = { id: "once", ts: Date.now(), ttl: 600_000, replyTo: r.replyTo("dev-003"), args: {} };
      await r.send("dev-003", "status", cmd);
      expect((await r.waitReply("once", "result")).ok).toBe(true);
      // the exact same message again
      r.replies.length = 0;
      await r.send("dev-003", "status", cmd);
      const again = await r.waitReply("once");
      expect(again.phase).toBe("rejected");
      expect(again.error!.type).toBe("ReplayError");
      // after a power cycle the seen ids are still known (durable)
      const b = h.fleet.board("dev-003")!;
      const boots = b.boots;
      b.powerCycle(false);
      await until(() => b.boots > boots && b.agent!.isConnected && h.ctl.isOnline("dev-003"), "dev-003 back");
      r.replies.length = 0;
      await r.send("dev-003", "status", cmd);
      expect((await r.waitReply("once")).error!.type).toBe("ReplayError");
      // a fresh id stamped 7 h ago with a long ttl: older than the 6 h replay window
      await r.send("dev-003", "reboot", { id: "ancient", ts: Date.now() - 7 * 3600_000, ttl: 8 * 3600_000, replyTo: r.replyTo("dev-003"), args: {} });
      const anc = await r.waitReply("ancient");
      expect(anc.phase).toBe("rejected");
      expect(anc.error!.type).toBe("ReplayError");
      expect(b.boots).toBe(boots + 1);
      await r.cl.endAsync();
    });

    it("expired commands are not executed (payload expiry; MQTT 5 message expiry where offered)", async () => {
      const r = await rawController(h);
      const b = h.fleet.board("dev-004")!;
      const boots = b.boots;
      await r.send("dev-004", "reboot", { id: "stale", ts: Date.now() - 20 * 60_000, ttl: 60_000, replyTo: r.replyTo("dev-004"), args: {} });
      const rep = await r.waitReply("stale");
      expect(rep.phase).toBe("rejected");
      expect(rep.error!.type).toBe("ExpiredError");
      // Queued for an offline device with a 1 s lifetime, delivered after it expired.
      await b.takeOffline();
      await until(() => !h.ctl.isOnline("dev-004"), "dev-004 offline");
      const ts = Date.now();
      await r.cl.publishAsync(topics.cmd("dev-004", "reboot"), JSON.stringify({ id: "queued", ts, ttl: 1000, replyTo: r.replyTo("dev-004"), args: {} }),
        { qos: 1, properties: h.protocol === 5 ? { messageExpiryInterval: 1 } : undefined });
      await until(() => Date.now() > ts + 4000, "the command's lifetime to pass", 10_000);
      await b.bringOnline();
      await until(() => h.ctl.isOnline("dev-004"), "dev-004 back");
      // A status request sent after it: once its result is in, the queued one was handled before it.
      await r.send("dev-004", "status", { id: "after", ts: Date.now(), ttl: 60_000, replyTo: r.replyTo("dev-004"), args: {} });
      await r.waitReply("after", "result");
      const queued = r.replies.filter((x) => x.id === "queued");
      // MQTT 5: the broker dropped it; MQTT 3.1.1: the device refused it as expired. Never executed.
      expect(queued.every((x) => x.phase === "rejected" && x.error!.type === "ExpiredError")).toBe(true);
      if (h.protocol === 5) expect(queued).toEqual([]);
      expect(b.boots).toBe(boots + 1); // only the bringOnline boot
      await r.cl.endAsync();
    });

    it("malformed payloads get typed rejections (or are dropped) and never hurt the agent", async () => {
      const r = await rawController(h);
      const to = r.replyTo("dev-001");
      const hostile: [string, unknown][] = [
        ["status", "{not json"],
        ["status", Buffer.from([0xff, 0xfe, 0x00, 0x01])],
        ["status", JSON.stringify([1, 2, 3])],
        ["status", { id: "h-noreply", ts: Date.now(), ttl: 1000 }],
        ["status", { id: "h-badts", ts: "now", ttl: 1000, replyTo: to }],
        ["status", { id: "h-foreign", ts: Date.now(), ttl: 60_000, replyTo: topics.reply("dev-002", "raw"), args: {} }],
        ["selfdestruct", { id: "h-unknown", ts: Date.now(), ttl: 60_000, replyTo: to, args: {} }],
        ["deploy", { id: "h-deploy-garbage", ts: Date.now(), ttl: 60_000, replyTo: to, args: { signed: 42 } }],
        ["deploy", { id: "h-deploy-sig", ts: Date.now(), ttl: 60_000, replyTo: to, args: { signed: { manifest: {}, signature: "!!" }, stream: "x" } }],
        ["infer", { id: "h-infer-size", ts: Date.now(), ttl: 60_000, replyTo: to, args: { input: "AAAA" } }],
        ["rollback", { id: "h-rollback-arg", ts: Date.now(), ttl: 60_000, replyTo: to, args: { from: 17 } }],
        ["finetune", { id: "h-finetune", ts: Date.now(), ttl: 60_000, replyTo: to, args: {} }],
        ["status", JSON.stringify({ id: "h-huge", ts: Date.now(), ttl: 60_000, replyTo: to, args: { pad: "x".repeat(300_000) } })],
      ];
      for (const [cmd, body] of hostile) await r.send("dev-001", cmd, body);
      await r.cl.publishAsync(topics.desired("dev-001"), "not json either", { qos: 1 });
      await r.cl.publishAsync(topics.streamData("dev-001", "m-none"), Buffer.from([0, 0, 0, 200, 1, 2]), { qos: 0 });
      const expectType = async (id: string, type: string) => {
        const rep = await r.waitReply(id);
        expect(rep.phase).toBe("rejected");
        expect(rep.error!.type).toBe(type);
      };
      await expectType("h-badts", "ProtocolError");
      await expectType("h-unknown", "ProtocolError");
      await expectType("h-deploy-garbage", "ProtocolError");
      await expectType("h-deploy-sig", "SignatureError");
      await expectType("h-infer-size", "InvalidArgumentError");
      await expectType("h-rollback-arg", "InvalidArgumentError");
      await expectType("h-finetune", "UnsupportedCommandError");
      // Still healthy and answering, model untouched.
      await r.send("dev-001", "infer", { id: "ok-after", ts: Date.now(), ttl: 60_000, replyTo: to, args: {} });
      expect((await r.waitReply("ok-after", "result")).ok).toBe(true);
      // Nothing was published outside dev-001's root by dev-001 (the foreign reply topic is refused).
      expect(r.replies.some((x) => x.id === "h-foreign")).toBe(false);
      // Oversized payloads are dropped unread.
      expect(r.replies.some((x) => x.id === "h-huge")).toBe(false);
      await r.cl.endAsync();
      await allStillOnV1();
    });

    it("a device cannot publish or subscribe into another device's topics, nor take its session", async () => {
      const observer = await rawController(h);
      const seen: string[] = [];
      observer.cl.on("message", (topic, payload) => { if (payload.toString().includes("FORGED")) seen.push(topic); });
      await observer.cl.subscribeAsync({ "qedge/v1/dev-002/#": { qos: 1 }, "qedge/v1/rogue/#": { qos: 1 } });
      const rogue: MqttClient = await h.rawClient("rogue", derivedDevicePassword(FLEET_SECRET, "rogue"));
      const got: string[] = [];
      rogue.on("message", (topic) => got.push(topic));
      // aedes refuses foreign subscriptions in the SUBACK (128); Mosquitto grants them but
      // never delivers a message the ACL does not allow. Either way nothing may arrive.
      const granted: number[] = [];
      for (const f of ["qedge/v1/dev-002/cmd/+", "qedge/v1/+/status", "qedge/v1/rogue/cmd/+"]) {
        granted.push(await new Promise<number>((resolve) => rogue.subscribe(f, { qos: 1 }, (_err, g, packet) => resolve((packet as { granted?: number[] } | undefined)?.granted?.[0] ?? g?.[0]?.qos ?? -1))));
      }
      expect(granted[2]).toBe(1);
      if (c.kind === "aedes") expect(granted.slice(0, 2)).toEqual([128, 128]);
      await observer.send("dev-002", "status", { id: "private", ts: Date.now(), ttl: 60_000, replyTo: observer.replyTo("dev-002"), args: {} });
      await observer.waitReply("private", "result");
      // Ordered after the command on the observer's connection: once the rogue has this, it would have had the other.
      await observer.cl.publishAsync("qedge/v1/rogue/cmd/ping", "{}", { qos: 1 });
      await until(() => got.includes("qedge/v1/rogue/cmd/ping"), "the rogue's own command");
      expect(got.filter((t) => !t.startsWith("qedge/v1/rogue/"))).toEqual([]);

      const forged = JSON.stringify({ id: "x", device: "dev-002", cmd: "deploy", phase: "result", ok: true, ts: Date.now(), note: "FORGED" });
      const closed = new Promise<string>((resolve) => rogue.once("close", () => resolve("closed")));
      const outcome = await Promise.race([
        rogue.publishAsync(topics.reply("dev-002", h.ctl.id), forged, { qos: 1 }).then(() => "acked", (e: Error) => `error: ${e.message}`),
        closed,
      ]);
      if (c.kind === "aedes") {
        // aedes drops the connection of a client that publishes where it may not (before routing).
        await until(() => !rogue.connected, "aedes to close the rogue connection");
        expect(h.broker.deniedPublishes()).toBeGreaterThanOrEqual(1);
      } else {
        if (h.protocol === 5) expect(outcome).toMatch(/135|not authorized/i);
        // Ordered on the rogue's connection: once this arrives, the forged one would have.
        await rogue.publishAsync("qedge/v1/rogue/status", JSON.stringify({ state: "offline", bootSeq: 0, note: "FORGED-own" }), { qos: 1 });
        await until(() => seen.includes("qedge/v1/rogue/status"), "the rogue's own message");
      }
      expect(seen.filter((t) => t.includes("dev-002"))).toEqual([]);
      rogue.end(true);
      // Wrong password: refused. On aedes also a device presenting another device's id as client id.
      await expect(h.rawClient("dev-002", "wrong")).rejects.toThrow();
      if (c.kind === "aedes") await expect(h.rawClient("rogue", derivedDevicePassword(FLEET_SECRET, "rogue"), "dev-002")).rejects.toThrow();
      await observer.cl.endAsync();
      expect(h.ctl.isOnline("dev-002")).toBe(true);
    });
  });
}
