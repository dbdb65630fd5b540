import { headers as natsHeaders, type MsgHdrs } from 'nats';
import type { RuleSet } from '../ruleset.js';
import type { ReceivedRuleSet } from '../signing/check-rule-set.js';
import type { SigningKey } from '../signing/keys.js';
import { STATEMENT_HEADER, ruleSetHeaders } from '../signing/statement.js';
import { KEY_ID_HEADER, SIGNATURE_HEADER } from '../signing/trust.js';

/** A rules-stream message as `checkRuleSet` takes it: its statement and signature headers, and the (reassembled) content. */
export function receivedRuleSet(h: MsgHdrs | undefined, body: Uint8Array): ReceivedRuleSet {
  const header = (name: string): string | undefined => (h?.has(name) ? h.get(name) : undefined);
  return { statement: header(STATEMENT_HEADER), signature: { keyId: header(KEY_ID_HEADER), signature: header(SIGNATURE_HEADER) }, body };
}

/** The NATS headers of a rule set: its statement, signed when `signer` is given. */
export function ruleSetMsgHeaders(signer: SigningKey | undefined, ruleSet: RuleSet): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of ruleSetHeaders(signer, ruleSet)) h.set(k, v);
  return h;
}
