import { assertNever, names, type ClusterEvent, type ObjectKind } from '@knp/shared';

/**
 * Sync markers go to `<prefix>.ev.sync.<kind>`: four tokens, so they never collide with an object subject
 * (`<prefix>.ev.<kind>.<ns>.<name>`, five tokens). Candidate for `names()` in shared.
 */
export const syncSubject = (prefix: string, kind: ObjectKind): string => `${prefix}.ev.sync.${kind.toLowerCase()}`;

/** The subject an event is published on. */
export function eventSubjectOf(prefix: string, event: ClusterEvent): string {
  switch (event.op) {
    case 'sync':
      return syncSubject(prefix, event.kind);
    case 'added':
    case 'modified':
    case 'deleted':
      return names(prefix).eventSubject(event.kind, event.kind === 'Namespace' ? undefined : event.namespace, event.name);
    default:
      return assertNever(event);
  }
}

/**
 * JetStream dedup id: `<uid>:<resourceVersion>` for objects (a restart re-publishing the same version is
 * dropped), `sync:<kind>:<syncId>:<chunk>` for sync chunks.
 */
export function messageIdOf(event: ClusterEvent): string {
  switch (event.op) {
    case 'sync':
      return `sync:${event.kind}:${event.syncId}:${event.chunk}`;
    case 'added':
    case 'modified':
    case 'deleted':
      return `${event.uid}:${event.resourceVersion}`;
    default:
      return assertNever(event);
  }
}
