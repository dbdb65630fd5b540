import { WATCHED_KINDS, type ClusterEvent, type ObjectEvent, type WatchedKind } from '@knp/shared';
import { contentKey, objectEvent, syncEvents, type TrimmedObject } from './trim.js';

type Entry = { readonly object: TrimmedObject; readonly key: string };

/**
 * What the events stream holds (or will hold once the queue drains), per kind and uid: decides whether a
 * listed or watched object is added, modified, deleted or irrelevant. Seeded from the stream's last message
 * per subject, so a restarted watcher publishes only what changed. No I/O.
 */
export class Ledger {
  private readonly live = new Map<WatchedKind, Map<string, Entry>>();
  private readonly lastSync = new Map<WatchedKind, string>();

  /** Folds an event read back from the stream (startup); sync events remember the last live set. */
  seed(event: ClusterEvent): void {
    if (!(WATCHED_KINDS as readonly string[]).includes(event.kind)) return;
    const kind = event.kind as WatchedKind;
    if (event.op === 'sync') {
      if (event.chunk === event.chunks - 1) this.lastSync.set(kind, event.syncId);
      return;
    }
    const object = event.object as TrimmedObject | undefined;
    if (event.op === 'deleted' || object === undefined) this.table(kind).delete(event.uid);
    else this.table(kind).set(event.uid, { object, key: contentKey(object) });
  }

  /** Forgets everything (the stream was recreated: everything must be published again). */
  clear(): void {
    this.live.clear();
    this.lastSync.clear();
  }

  /** Events for a complete list: adds and relevant modifications, deletions of what vanished, then the sync marker. */
  list(kind: WatchedKind, items: readonly TrimmedObject[], resourceVersion: string): ClusterEvent[] {
    const table = this.table(kind);
    const listed = new Set<string>();
    const events: ClusterEvent[] = [];
    for (const item of items) {
      listed.add(item.metadata.uid);
      const event = this.upsert(table, item);
      if (event) events.push(event);
    }
    for (const [uid, entry] of [...table]) {
      if (listed.has(uid)) continue;
      table.delete(uid);
      events.push(objectEvent('deleted', entry.object, resourceVersion)); // deleted while nobody watched
    }
    const sync = syncEvents(kind, resourceVersion, [...listed]);
    if (sync[0]!.syncId !== this.lastSync.get(kind)) {
      this.lastSync.set(kind, sync[0]!.syncId);
      events.push(...sync);
    }
    return events;
  }

  /** The event for one watched change, or undefined when it changes nothing the stream does not already say. */
  change(kind: WatchedKind, type: 'add' | 'update' | 'delete', item: TrimmedObject): ObjectEvent | undefined {
    const table = this.table(kind);
    if (type !== 'delete') return this.upsert(table, item);
    if (!table.delete(item.metadata.uid)) return undefined; // already gone (e.g. a relist said so first)
    return objectEvent('deleted', item);
  }

  /** Number of live objects of a kind the ledger knows. */
  size(kind: WatchedKind): number {
    return this.table(kind).size;
  }

  private upsert(table: Map<string, Entry>, item: TrimmedObject): ObjectEvent | undefined {
    const prev = table.get(item.metadata.uid);
    const key = contentKey(item);
    table.set(item.metadata.uid, { object: item, key });
    if (prev === undefined) return objectEvent('added', item);
    if (prev.key === key) return undefined; // irrelevant: nothing the compiler reads changed
    return objectEvent('modified', item);
  }

  private table(kind: WatchedKind): Map<string, Entry> {
    let t = this.live.get(kind);
    if (t === undefined) this.live.set(kind, (t = new Map()));
    return t;
  }
}
