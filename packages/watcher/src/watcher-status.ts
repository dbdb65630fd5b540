import { WATCHED_KINDS, STATUS_SCHEMA, type KindStatus, type WatchedKind, type WatcherStatus } from '@knp/shared';

/**
 * What the watcher has seen of one kind since it (re)started: the newest resourceVersion, whether a list
 * completed, and whether the kind was last found not served (`absent`: its CRD is not installed; the empty
 * sync published for it counts as its list).
 */
export type KindProgress = { readonly resourceVersion: string; readonly listed: boolean; readonly absent?: true };

export const NOT_LISTED: KindProgress = { resourceVersion: '', listed: false };

/**
 * The newer of two resourceVersions ('' = none seen). They are opaque strings, but both of ours come from
 * the same API server: when both are numbers the larger is newer, otherwise the later one seen (`b`) wins.
 */
export function newerVersion(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? (BigInt(a) >= BigInt(b) ? a : b) : b;
}

/** Everything the status record is made of, gathered by the shell. */
export type WatcherFacts = {
  readonly instance: string;
  readonly epoch: string;
  readonly startedAt: string;
  /** Per kind: our progress, the informer's last resourceVersion (it also sees bookmarks) and the live objects we know. */
  readonly kinds: Readonly<Record<WatchedKind, KindProgress & { readonly informerVersion: string; readonly objects: number }>>;
  readonly publisher: { readonly pending: number; readonly idle: boolean; readonly published: number; readonly duplicates: number; readonly lastSeq: number };
  readonly signing?: { readonly keyId: string; readonly start: number };
};

/** The status record as of `now`: up to date once every kind was listed and everything seen is published. */
export function watcherStatus(facts: WatcherFacts, now: string): WatcherStatus {
  const kinds = {} as Record<WatchedKind, KindStatus>;
  for (const kind of WATCHED_KINDS) {
    const k = facts.kinds[kind];
    kinds[kind] = { resourceVersion: newerVersion(k.resourceVersion, k.informerVersion), listed: k.listed, objects: k.objects, ...(k.absent ? { absent: true } : {}) };
  }
  const { publisher } = facts;
  return {
    schema: STATUS_SCHEMA,
    instance: facts.instance,
    epoch: facts.epoch,
    startedAt: facts.startedAt,
    heartbeatAt: now,
    kinds,
    pending: publisher.pending,
    upToDate: WATCHED_KINDS.every((kind) => facts.kinds[kind].listed) && publisher.idle,
    published: publisher.published,
    duplicates: publisher.duplicates,
    lastSeq: publisher.lastSeq,
    ...(facts.signing ? { signing: facts.signing } : {}),
  };
}
