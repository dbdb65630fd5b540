import { parseEvent, type ClusterEvent, type Logger } from '@knp/shared';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgHdrs } from 'nats';
import { readLarge } from '@knp/shared/nats';

/**
 * Reads the last message of every subject of the events stream (what the stream currently says about each
 * object and the last sync chunk per kind), in stream order. An ordered consumer with one string filter and
 * LastPerSubject: the forms nats-server 2.9 accepts (an array filter or deliver_policy All hangs it). `keep` may leave a
 * message out (it is then published again), given its headers and whole payload.
 */
export async function readLastPerSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  log: Logger,
  keep: (headers: MsgHdrs | undefined, data: Uint8Array) => boolean = () => true,
): Promise<ClusterEvent[]> {
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(stream, { filterSubjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
  const events: ClusterEvent[] = [];
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      try {
        const data = await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.headers });
        if (data !== undefined && keep(m.headers, data)) events.push(parseEvent(JSON.parse(Buffer.from(data).toString('utf8'))));
      } catch (err) {
        // an unreadable message only means we publish that object again
        log.warn({ err, subject: m.subject, seq: m.seq }, 'stored event unreadable');
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return events;
}
