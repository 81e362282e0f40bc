// Turning a model file into a signed deployment: manifest (digest, size, boards, kernel
// level, block size, self-test), Ed25519 signature, and the content-addressed stream id the
// blocks are served under (any controller holding the file can serve it).
import type { KeyObject } from "node:crypto";
import { buildManifest, signManifest, type KernelLevel, type SignedManifest } from "./manifest.js";
import type { DeploymentSpec } from "./protocol.js";
import { outputsDigest, selfTestInputs, type ModelRuntime } from "../device/runtime.js";

export interface ArtifactOptions {
  modelId: string;
  version: string;
  boards?: string[];
  minKernel?: KernelLevel;
  blockSize?: number;
  selfTestSeed?: number;
  /** When given, the self-test output digest is computed here and pinned in the manifest. */
  selfTestRuntime?: ModelRuntime;
  rollout?: string;
}

export interface Artifact {
  bytes: Uint8Array;
  signed: SignedManifest;
  stream: string;
  deployment: DeploymentSpec;
}

export function streamIdFor(sha256: string): string {
  return `m-${sha256.slice(0, 24)}`;
}

export async function makeArtifact(bytes: Uint8Array, key: KeyObject, o: ArtifactOptions): Promise<Artifact> {
  const seed = o.selfTestSeed ?? 1;
  let outputSha256: string | undefined;
  if (o.selfTestRuntime) {
    const model = await o.selfTestRuntime.load(bytes, { kernels: "auto" });
    try {
      outputSha256 = outputsDigest(await model.run(selfTestInputs(model, seed)));
    } finally {
      model.dispose();
    }
  }
  const manifest = buildManifest(bytes, {
    modelId: o.modelId, version: o.version, boards: o.boards, minKernel: o.minKernel, blockSize: o.blockSize,
    selfTest: { inputSeed: seed, ...(outputSha256 ? { outputSha256 } : {}) },
  });
  const signed = signManifest(manifest, key);
  const stream = streamIdFor(manifest.sha256);
  return {
    bytes, signed, stream,
    deployment: { signed: { manifest: { ...manifest } as Record<string, unknown>, signature: signed.signature, keyId: signed.keyId }, stream, ...(o.rollout ? { rollout: o.rollout } : {}) },
  };
}
