import type { CompilerSigningStatus, Logger, ObjectKind, SigningSettings } from '@knp/shared';

/** The status record's `signing`: what is required, whether snapshots are signed, and the kinds the publish gate waits for. */
export function signingStatus(signing: SigningSettings, waitingForSync: readonly ObjectKind[]): CompilerSigningStatus {
  return {
    events: signing.watchers.mode,
    snapshots: signing.compilers.mode,
    signsSnapshots: signing.signer !== undefined,
    ...(signing.signer ? { keyId: signing.signer.keyId } : {}),
    waitingForSync: [...waitingForSync],
  };
}

/** At start: a warning for each way this replica's input is not protected by signatures. */
export function warnAboutSigning(signing: SigningSettings, log: Logger): void {
  if (signing.watchers.mode === 'unsigned')
    log.warn('event signing off: KNP_TRUSTED_WATCHER_KEYS is unset, so any client allowed to publish events can change the rules');
  if (signing.compilers.mode === 'unsigned')
    log.warn('snapshot signing off: KNP_TRUSTED_COMPILER_KEYS is unset, so any snapshot in the store is loaded');
  else if (signing.signer === undefined)
    log.warn('KNP_SIGNING_KEY is unset: the snapshots this replica writes are unsigned and will not be loaded');
}
