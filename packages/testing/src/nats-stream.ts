import { parseEvent, type ClusterEvent, type ObjectKind } from '@knp/shared';
import { largeMessageKind, readLarge } from '@knp/shared/nats';
import type { JetStreamManager } from 'nats';

export type StoredEvent = { readonly seq: number; readonly subject: string; readonly msgId: string | undefined; readonly event: ClusterEvent };

/** Every logical message of a stream in order (parts skipped, manifests reassembled), read by sequence. */
export async function readEvents(jsm: JetStreamManager, stream: string): Promise<StoredEvent[]> {
  const { state } = await jsm.streams.info(stream);
  const out: StoredEvent[] = [];
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq += 1) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (largeMessageKind(m.header) === 'part') continue;
    const data = await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.header });
    out.push({ seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') || undefined, event: parseEvent(JSON.parse(Buffer.from(data!).toString('utf8'))) });
  }
  return out;
}

/**
 * Folds events the way the compiler does: objects by uid per kind; once every chunk of a sync is seen, the
 * objects of that kind it does not name are deleted. Returns the live uids per kind, sorted.
 */
export function foldLiveUids(events: readonly ClusterEvent[]): Record<ObjectKind, string[]> {
  const live: Record<ObjectKind, Set<string>> = { Pod: new Set(), Namespace: new Set(), NetworkPolicy: new Set(), Node: new Set(), ClusterNetworkPolicy: new Set() };
  const syncs = new Map<string, { chunks: number; seen: Set<number>; uids: Set<string> }>();
  for (const e of events) {
    if (e.op === 'sync') {
      const s = syncs.get(e.syncId) ?? { chunks: e.chunks, seen: new Set<number>(), uids: new Set<string>() };
      syncs.set(e.syncId, s);
      s.seen.add(e.chunk);
      for (const uid of e.uids) s.uids.add(uid);
      if (s.seen.size === s.chunks) {
        for (const uid of [...live[e.kind]]) if (!s.uids.has(uid)) live[e.kind].delete(uid);
        syncs.delete(e.syncId);
      }
    } else if (e.op === 'deleted') live[e.kind].delete(e.uid);
    else live[e.kind].add(e.uid);
  }
  return { Pod: [...live.Pod].sort(), Namespace: [...live.Namespace].sort(), NetworkPolicy: [...live.NetworkPolicy].sort(), Node: [...live.Node].sort(), ClusterNetworkPolicy: [...live.ClusterNetworkPolicy].sort() };
}
