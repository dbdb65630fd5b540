import { compareVersions, expandNodeMessage, statementOf, statementText, type NodeMessage, type RuleSet, type RuleSetVersion } from '@knp/shared';
import { ManifestCache, SetCache, SetUnavailableError, checkSubjectMessage, fetchSets, readNodeHead, type NodeReader } from '@knp/shared/nats';
import type { MsgHdrs } from 'nats';
import type { Handled } from './handling.js';

/** A node message made whole: the rule set it stands for, with the statement `checkRuleSet` then judges (version, epoch, staleness). */
export type Expanded = { readonly kind: 'expanded'; readonly ruleSet: RuleSet; readonly payload: Uint8Array; readonly statement: string };

/**
 * A node message (schema 2) from the applier's subject, made whole: signature and statement checked (a
 * pointer's on its manifest), then
 * expanded on the rules in force (`base`, from the state file or the last apply) with the set contents it
 * names (fetched from the set store when not in `cache`). A DELTA on another base, or no base at all, means
 * this applier missed something: the node's newest version is rebuilt from the subject (`readNodeHead`).
 * Set contents that cannot be fetched yet are a read error (delivered again a few times, like a missing
 * chunk part); nothing partial is applied. Contents are cached per message only: the base's own sets
 * need no fetch, so the cache would only grow.
 */
export async function expandForApplier(t: NodeReader, node: string, payload: Uint8Array, headers: MsgHdrs | undefined, base: RuleSet | undefined, redeliveries: number): Promise<Expanded | Handled> {
  const cache = new SetCache();
  const manifests = new ManifestCache();
  try {
    // a pointer is checked by its manifest's signature. A manifest is stored before any pointer names it, so
    // one not in the store is a forged pointer (or one so old its manifest was swept): the node's newest
    // version is rebuilt from the subject at once, instead of holding a delivery slot through retries
    let check;
    try {
      check = await checkSubjectMessage(t, node, headers, payload, manifests);
    } catch (err) {
      if (!(err instanceof SetUnavailableError)) throw err;
      return rebuilt(t, node, cache, manifests, undefined);
    }
    if (check.kind === 'refuse') return { kind: 'refused', reason: check.reason, detail: check.detail };
    const message: NodeMessage = check.value;
    // a pointer not newer than the rules in force (an old one published again: its manifest is signed, the
    // pointer is not) stands for nothing new. Not expanded: the contents its manifest names may be swept,
    // and fetching them would hold this node's deliveries through retries
    if (message.kind === 'pointer' && base && compareVersions(message.version, base.version) <= 0) return whole(base);
    let expansion = expandNodeMessage(message, base, cache.get);
    if (expansion.kind === 'missing') {
      // a changed set is stored as a member delta on an earlier content, most often the one in force here:
      // held, it need not be fetched again (hashed only for the sets the message changes)
      const held = new Map((base?.sets ?? []).map((set) => [set.id, set]));
      for (const ref of expansion.refs) {
        const mine = held.get(ref.id);
        if (mine) cache.add(mine);
      }
      await fetchSets(t, expansion.refs, cache);
      expansion = expandNodeMessage(message, base, cache.get);
    }
    if (expansion.kind === 'ok') return whole(expansion.ruleSet);
    if (expansion.kind === 'refuse' && expansion.reason !== 'wrong-base')
      return { kind: 'refused', reason: expansion.reason, detail: expansion.detail, version: message.version };
    // a delta not newer than the rules in force (a redelivery, the durable resuming behind the catch-up)
    // would be stale once rebuilt: the rules in force stand for it, without reading the whole subject
    if (base && compareVersions(message.version, base.version) <= 0) return whole(base);
    return await rebuilt(t, node, cache, manifests, message.version);
  } catch (err) {
    if (err instanceof SetUnavailableError) return { kind: 'unreadable', err, chunkError: true, redeliveries };
    throw err;
  }
}

/** The node's newest version rebuilt from its subject (this applier missed something, or was sent a pointer to nothing). */
async function rebuilt(t: NodeReader, node: string, cache: SetCache, manifests: ManifestCache, version: RuleSetVersion | undefined): Promise<Expanded | Handled> {
  const newest = await readNodeHead(t, node, cache, manifests);
  if (newest.head === undefined) return { kind: 'refused', reason: 'malformed', detail: 'the subject holds no full version to build on', ...(version ? { version } : {}) };
  return whole(newest.head.ruleSet);
}

function whole(ruleSet: RuleSet): Expanded {
  return { kind: 'expanded', ruleSet, payload: Buffer.from(JSON.stringify(ruleSet), 'utf8'), statement: statementText(statementOf(ruleSet)) };
}
