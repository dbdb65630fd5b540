import { EVENT_SCHEMA, type ObjectKind } from '@knp/shared';

/** The watcher's key in the `<PREFIX>_status` bucket. */
export const WATCHER_STATUS_KEY = 'watcher';

export type KindStatus = {
  /** Last resourceVersion seen for the kind: lists, events (also those filtered out) and bookmarks. */
  readonly resourceVersion: string;
  /** Whether a list of the kind has completed since the watcher (re)started. */
  readonly listed: boolean;
  /** Live objects of the kind as the watcher knows them. */
  readonly objects: number;
};

/** What the watcher records on every heartbeat and whenever its queue drains. */
export type WatcherStatus = {
  readonly schema: typeof EVENT_SCHEMA;
  readonly instance: string;
  readonly epoch: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  readonly kinds: Readonly<Record<ObjectKind, KindStatus>>;
  /** Events seen and not yet acknowledged by the stream. */
  readonly pending: number;
  /** Every kind listed and everything seen published. */
  readonly upToDate: boolean;
  readonly published: number;
  readonly duplicates: number;
  readonly lastSeq: number;
};

/** Whether a decoded status record says the watcher is caught up (for tests, readiness and the CLI). */
export function isUpToDate(status: WatcherStatus | undefined, instance?: string): boolean {
  return status !== undefined && status.upToDate && (instance === undefined || status.instance === instance);
}
