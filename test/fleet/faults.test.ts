// Rollouts under faults, on each broker: broker restart mid-rollout, devices offline during
// the rollout, power cuts (with torn writes) at every install step, controller killed and
// restarted mid-rollout. Each ends with every device on a model that verifies on its flash,
// every device accounted for in the report, and no device ever announcing itself without a
// model once it had one.
import { afterEach, describe, expect, it } from "vitest";
import type { DeviceView } from "../../host/fleet/controller.js";
import { createRollout, ROLLOUT_DEFAULTS, runRollout, RolloutInterrupted } from "../../host/fleet/rollout.js";
import { NO_FAULTS, POWERCUT_STEPS, type PowerCutAt } from "../../firmware-sim/faults.js";
import { BROKER_CASES, NO_MOSQUITTO, skipCase, startFleet, TEST_ROLLOUT, until, type FleetHarness } from "./harness.js";

/** Records every ready status that names no model, for devices that had one. */
function watchModelless(h: FleetHarness): string[] {
  const hadModel = new Set<string>();
  const bad: string[] = [];
  h.ctl.on("status", (v: DeviceView) => {
    if (v.status?.state !== "ready") return;
    if (v.status.model) hadModel.add(v.id);
    else if (hadModel.has(v.id)) bad.push(`${v.id} boot ${v.status.bootSeq}`);
  });
  return bad;
}

for (const c of BROKER_CASES) {
  describe.skipIf(skipCase(c))(`faults on ${c.name}`, () => {
    if (skipCase(c)) console.warn(NO_MOSQUITTO);
    let h: FleetHarness | null = null;
    afterEach(async () => { await h?.close(); h = null; });

    it("broker restarted mid-rollout: the rollout completes", async () => {
      h = await startFleet(c, { devices: 40 });
      const art = await h.artifact("vww", "1", { size: 120_000 });
      let restarted = false;
      const restart: Promise<void>[] = [];
      const rep = await h.rollout(art, { canary: 2, waveGrowth: 2 }, {
        onProgress: (s) => {
          const done = Object.values(s.devices).filter((d) => d.state === "succeeded").length;
          if (!restarted && done >= 6) { restarted = true; restart.push(h!.broker.restart(300)); }
        },
      });
      await Promise.all(restart);
      expect(restarted).toBe(true);
      expect(rep.phase).toBe("completed");
      expect(rep.totals.succeeded).toBe(40);
      for (const b of h.fleet.boards) expect(await h.verifiedModel(b.id)).toBe(art.signed.manifest.sha256);
      // The restart really cut the sessions: boards reconnected.
      expect(h.fleet.boards.every((b) => b.agent!.stats.connects >= 2)).toBe(true);
    });

    it("devices offline during the rollout catch up when they return; one that never returns is reported offline", async () => {
      h = await startFleet(c, { devices: 20 });
      const away = ["dev-004", "dev-011", "dev-017"];
      const gone = "dev-020";
      for (const id of [...away, gone]) await h.fleet.board(id)!.takeOffline();
      await until(() => [...away, gone].every((id) => !h!.ctl.isOnline(id)), "controller sees the boards offline");
      const art = await h.artifact("kws", "2");
      let returned = false;
      const rep = await h.rollout(art, { canary: 2, offlineGraceMs: 10_000 }, {
        onProgress: (s) => {
          const online = Object.entries(s.devices).filter(([id]) => ![...away, gone].includes(id));
          if (!returned && online.every(([, d]) => d.state === "succeeded")) {
            returned = true;
            for (const id of away) void h!.fleet.board(id)!.bringOnline();
          }
        },
      });
      expect(rep.phase).toBe("completed");
      expect(rep.totals.succeeded).toBe(19);
      expect(rep.totals.offline).toBe(1);
      expect(rep.devices.find((d) => d.id === gone)!.state).toBe("offline");
      expect(rep.waves.reduce((n, w) => n + w.deferred, 0)).toBe(4);
      for (const id of away) expect(await h.verifiedModel(id)).toBe(art.signed.manifest.sha256);
    });

    it("power cut at every install step (torn writes): each board boots a verified model and ends on the new one", async () => {
      const cuts: PowerCutAt[] = [
        ...POWERCUT_STEPS.map((step) => ({ step, afterOps: 0 })),
        // mid-write: the n-th flash operation after a step (temp write, fsync, rename, dir fsync)
        { step: "slot-erase", afterOps: 2 }, { step: "slot-erase", afterOps: 4 },
        { step: "slot-write-model", afterOps: 2 }, { step: "slot-write-model", afterOps: 3 }, { step: "slot-write-model", afterOps: 4 },
        { step: "slot-write-manifest", afterOps: 2 }, { step: "commit", afterOps: 2 }, { step: "commit", afterOps: 3 },
        { step: "commit", afterOps: 4 }, { step: "download", afterOps: 9 },
      ];
      h = await startFleet(c, { devices: cuts.length });
      const v1 = await h.artifact("ad", "1", { size: 30_000 });
      expect((await h.rollout(v1, { canary: 4 })).totals.succeeded).toBe(cuts.length);
      const modelless = watchModelless(h);
      h.fleet.boards.forEach((b, i) => b.setFaults({ ...NO_FAULTS, seed: 11, powercut: [cuts[i]], torn: 1, rebootDelayMs: 200 }));
      const v2 = await h.artifact("ad", "2", { size: 30_000 });
      const rep = await h.rollout(v2, { canary: 4, abortFailurePct: 100 });
      expect(rep.phase).toBe("completed");
      expect(rep.totals.succeeded).toBe(cuts.length);
      expect(h.fleet.boards.map((b) => b.powerCuts)).toEqual(cuts.map(() => 1));
      for (const b of h.fleet.boards) expect(await h.verifiedModel(b.id)).toBe(v2.signed.manifest.sha256);
      expect(modelless).toEqual([]);
    });

    it("controller killed mid-rollout resumes from its state on disk; no device installs twice", async () => {
      h = await startFleet(c, { devices: 30 });
      const art = await h.artifact("ic", "3");
      await h.store.saveArtifact(art.signed.manifest.sha256, art.bytes);
      const targets = h.ctl.devices().map((d) => d.id);
      const s = createRollout(targets, art.deployment, { ...ROLLOUT_DEFAULTS, ...TEST_ROLLOUT, canary: 1, waveGrowth: 2 });
      await h.store.save(s);
      const kill = new AbortController();
      const first = runRollout(h.ctl, h.store, s, {
        signal: kill.signal,
        onProgress: (st) => { if (Object.values(st.devices).filter((d) => d.state === "succeeded").length >= 5) kill.abort(); },
      });
      await expect(first).rejects.toBeInstanceOf(RolloutInterrupted);
      await h.ctl.close();
      const saved = await h.store.load(s.id);
      expect(saved!.phase).toBe("running");
      const ctl2 = await h.newController();
      await ctl2.discover();
      const rep = await runRollout(ctl2, h.store, saved!, {});
      await ctl2.close();
      expect(rep.phase).toBe("completed");
      expect(rep.totals.succeeded).toBe(30);
      for (const b of h.fleet.boards) {
        expect(await h.verifiedModel(b.id)).toBe(art.signed.manifest.sha256);
        expect(b.agent!.stats.installs).toBe(1);
      }
    });
  });
}
