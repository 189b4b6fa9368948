/**
 * Signed release bundles: the public surface of src/bundle. See docs/bundle-format.md for the
 * format and docs/threat-model.md for what it defends against.
 *
 * Consumer flow (app, worker, engine):
 *   const root = await pinnedRoot({ mode });                 // pinned-root.ts
 *   const verified = await verifyBundle(source, { trustRoot: root, now: new Date(), rollbackStore });
 *   const { regions } = checkTarget(verified, session.identity);
 *   checkRollback({ manifest: verified.manifest, boardReported, mode });
 *   … write regions …; await recordInstalled(store, { ...verified.manifest, rootVersion: verified.root.version });
 */
export {
  BundleError,
  BUNDLE_REASONS,
  REASON_TEXT,
  isBundleReason,
  type BundleReason,
} from './errors.ts';
export {
  verifyBundle,
  VerifiedBundle,
  DEFAULT_MAX_BUNDLE_BYTES,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  MAX_CLOCK_SKEW_MS,
  type BundleSource,
  type VerifyOptions,
  type VerifyProgress,
  type VerifiedImageInfo,
} from './verify.ts';
export {
  checkTarget,
  matchingTargets,
  type TargetQuery,
  type TargetRegion,
  type VerifiedTarget,
} from './target.ts';
export {
  checkRollback,
  DOWNGRADE_REASONS,
  type DowngradeOverride,
  type DowngradeReason,
  type RollbackCheck,
  type RollbackDecision,
  type UpdaterMode,
} from './rollback.ts';
export {
  MemoryRollbackStore,
  recordInstalled,
  type RollbackRecord,
  type RollbackStore,
} from './rollback-store.ts';
export {
  checkRootExpiry,
  createRootEnvelope,
  encodeRootPayload,
  loadTrustRoot,
  resolveRootChain,
  rotateTrustRoot,
  type ChainedRoot,
  type RootContent,
  type RootKey,
  type TrustRoot,
} from './trust-root.ts';
export {
  PROTOCOL_IDS,
  parseManifest,
  declaredImages,
  type Manifest,
  type ManifestContent,
  type ManifestImage,
  type ManifestTarget,
  type ProtocolId,
} from './manifest.ts';
export {
  createBundle,
  readBundleUnverified,
  signBundle,
  type CreateBundleOptions,
  type ManifestDraft,
} from './create.ts';
export { pinnedRoot, type BuildMode } from './pinned-root.ts';
export { keyIdOf, publicKeyOf, newSecretKey, verifySignature } from './ed25519.ts';
export {
  addSignature,
  encodeEnvelope,
  parseEnvelope,
  pae,
  MANIFEST_PAYLOAD_TYPE,
  ROOT_PAYLOAD_TYPE,
} from './dsse.ts';
export { parseStrictJson, type JsonValue } from './strict-json.ts';
