import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRuleSet, type RuleSet } from '@knp/shared';
import { bookPublish, isHeld, type Booking } from '../../src/service/publish-booking.js';
import type { PublishOutcome } from '../../src/service/rules-store.js';

const rs = (pods: number, seq: number): RuleSet =>
  makeRuleSet({ node: 'n1', pods: Array.from({ length: pods }, (_, i) => ({ uid: `u${i}`, pod: `ns/p${i}`, ips: [`10.0.0.${i + 1}`], ingress: { isolated: false, policies: [], rules: [] }, egress: { isolated: false, policies: [], rules: [] } })), rules: [], sets: [] }, { epoch: 'e1', seq });
const mine = rs(2, 20), theirs = rs(2, 10), newer = rs(3, 30);

const Held = suite('isHeld: a computed rule set with the content held needs no publishing');
const held: Array<[what: string, held: RuleSet | undefined, expected: boolean]> = [
  ['nothing held yet: publish', undefined, false],
  ['the same content under an older version: held', theirs, true],
  ['other content: publish', newer, false],
];
for (const [what, h, expected] of held) Held(what, () => assert.is(isHeld(h, mine), expected));
Held.run();

const Book = suite('bookPublish: how a replica books a node after publishing');
const cases: Array<[what: string, outcome: PublishOutcome | 'failed', expected: Booking]> = [
  ['stored a new version: counted published, held', { decision: 'publish', ruleSet: mine }, { counter: 'published', hold: mine, recheck: false }],
  ['a duplicate ack (another replica stored this very version first): counted adopted, held', { decision: 'publish', ruleSet: mine, duplicate: true }, { counter: 'adopted', hold: mine, recheck: false }],
  ['the same content is on the stream: its version adopted and held', { decision: 'adopt', ruleSet: theirs }, { counter: 'adopted', hold: theirs, recheck: false }],
  ['another replica is ahead: nothing held, compiled again at the next evaluation', { decision: 'behind', ruleSet: newer }, { counter: 'behind', hold: undefined, recheck: true }],
  ['the publish failed: counted an error, compiled again at the next evaluation', 'failed', { counter: 'errors', hold: undefined, recheck: true }],
];
for (const [what, outcome, expected] of cases) Book(what, () => assert.equal(bookPublish(outcome), expected));
Book.run();
