import { describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { startBroker } from "../../host/broker/embedded.js";
import { derivedDevicePassword, hashPassword } from "../../host/broker/auth.js";
import { FakeRuntime, fakeModelBytes } from "../../host/device/fake-runtime.js";
import { makeArtifact } from "../../host/fleet/artifact.js";
import { FleetController } from "../../host/fleet/controller.js";
import { generateSigningKey } from "../../host/fleet/manifest.js";
import { SimFleet } from "../../firmware-sim/runner.js";

describe("smoke", () => {
  it("deploys to 3 devices", async () => {
    const secret = "s3cret";
    const broker = await startBroker({ port: 0, auth: { deviceSecret: secret, users: { ctl: hashPassword("pw", "controller") } } });
    const kp = generateSigningKey();
    const priv = createPrivateKey(kp.privateKeyPem);
    const pub = createPublicKey(kp.publicKeyPem);
    const runtime = new FakeRuntime();
    const fleet = new SimFleet({ broker: broker.url, devices: 3, trustedKeys: [pub], runtime,
      credentials: (id) => ({ username: id, password: derivedDevicePassword(secret, id) }), log: (l) => console.log(l) });
    await fleet.start();
    await fleet.waitConnected();
    const ctl = new FleetController({ broker: broker.url, username: "ctl", password: "pw", log: (l) => console.log(l) });
    await ctl.connect();
    const devs = await ctl.discover();
    expect(devs.map((d) => d.id)).toEqual(["sim-001", "sim-002", "sim-003"]);
    const art = await makeArtifact(fakeModelBytes("m1", 100_000), priv, { modelId: "m", version: "1", blockSize: 8192 });
    ctl.serve(art.stream, art.bytes, art.signed.manifest.blockSize);
    const replies = await Promise.all(devs.map((d) => ctl.request(d.id, "deploy", art.deployment as never)));
    console.log(JSON.stringify(replies, null, 1));
    expect(replies.every((r) => r.ok)).toBe(true);
    const inf = await ctl.request("sim-001", "infer", {});
    console.log(inf);
    await ctl.close();
    await fleet.stop();
    await broker.close();
  });
});
