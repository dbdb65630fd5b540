import { compareVersions, type RuleSet } from '@knp/shared';

/**
 * What a replica does with a rule set it computed, given the last one on the node's subject:
 * - `publish`: nothing there yet, or an older version with other content;
 * - `adopt`: the same content is already published (by us or another replica): keep its version, publish nothing;
 * - `behind`: a version at or past ours is there with other content: another replica has seen more events.
 * This is what keeps two replicas from storing duplicates or moving a node backwards.
 */
export type PublishDecision = 'publish' | 'adopt' | 'behind';

export function decidePublish(mine: RuleSet, published: RuleSet | undefined): PublishDecision {
  if (published === undefined) return 'publish';
  if (published.version.epoch === mine.version.epoch && published.contentHash === mine.contentHash) return 'adopt';
  return compareVersions(published.version, mine.version) >= 0 ? 'behind' : 'publish';
}

/**
 * The JetStream message id of a rule set: `<node>:<epoch>:<seq>:<expected subject seq>`, one stored copy per
 * version over a given subject state. The subject sequence keeps a republish after the subject was purged
 * (or a valid version published over a forged one) from being dropped as a duplicate of the first publish.
 */
export function ruleSetMessageId(ruleSet: RuleSet, expectedSubjectSeq: number): string {
  return `${ruleSet.node}:${ruleSet.version.epoch}:${ruleSet.version.seq}:${expectedSubjectSeq}`;
}
