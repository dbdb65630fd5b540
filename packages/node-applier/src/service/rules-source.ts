import { shortHash } from '@knp/shared';
import { isNotFound, readLarge } from '@knp/shared/nats';
import { AckPolicy, DeliverPolicy, nanos, type JetStreamManager, type MsgHdrs } from 'nats';

/** The applier's durable consumer name: prefix + a hash of the node (durable names cannot hold a node name's dots). */
export const durableName = (prefix: string, node: string): string => `${prefix}_applier_${shortHash(node, 16)}`;

/** How long a delivered rule set may take to apply (retries included) before JetStream delivers it again. */
export const ACK_WAIT_MS = 120_000;

/**
 * Creates the node's durable pull consumer unless it exists. A durable's deliver policy applies only at
 * creation (later it resumes from its ack floor); `Last` means a new applier starts from the node's newest rule set,
 * and a restarted one resumes after its ack floor. The filter is the exact subject, so the parts of a chunked
 * rule set (`<subject>~<i>`) are never delivered: the manifest is, and `readLarge` fetches its parts.
 */
export async function ensureDurable(jsm: JetStreamManager, stream: string, name: string, subject: string): Promise<void> {
  try {
    await jsm.consumers.info(stream, name);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.Last,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: 64,
    });
  } catch (err) {
    // another instance of this applier created it first: fine
    await jsm.consumers.info(stream, name).catch(() => Promise.reject(err));
  }
}

/** The newest rule set payload on `subject` (reassembled when chunked), or undefined when none was published. */
export async function readNewest(jsm: JetStreamManager, stream: string, subject: string): Promise<{ seq: number; payload: Uint8Array; headers: MsgHdrs | undefined } | undefined> {
  let m;
  try {
    m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const payload = await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.header });
  return payload === undefined ? undefined : { seq: m.seq, payload, headers: m.header };
}

/** The events stream's epoch and last sequence: what a rule set's version must agree with (`checkRuleSet`). */
export async function readEventsPosition(jsm: JetStreamManager, stream: string): Promise<{ epoch: string; lastSeq: number } | undefined> {
  try {
    const info = await jsm.streams.info(stream);
    return { epoch: info.created, lastSeq: info.state.last_seq };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
