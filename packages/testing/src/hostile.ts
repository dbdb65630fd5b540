import type { RuleSet } from '@knp/shared';
import { cidrSet, localPod, peers, podPortsSet, podsSet, rule, ruleSet, tcp, udp } from './ir-builders.js';
import { seededRandom } from '@knp/shared';

/** Strings an attacker could put in a pod or policy name (the API forbids most; the renderer must not rely on it). */
export const HOSTILE: readonly string[] = [
  'x/"; flush ruleset; "',
  'x/a\n}\ntable inet evil {\n',
  'x/a;drop',
  'x/}',
  'x/#comment',
  "x/'single'",
  'x/\\"escaped\\"',
  'x/$(reboot)`id`',
  'x/*>',
  'x/\u00e9\u2603\u{1F600}\u202e',
  'x/\r\n\t\0',
  `x/${'a'.repeat(5000)}`,
  `x/${'"'.repeat(300)}`,
];

/** A small deterministic generator, so a failing fuzz case replays exactly. */
export const prng = seededRandom;

/** A rule set whose every API string (pod names, policy names, ids, selectors) is hostile. */
export function hostileRuleSet(seed: number): RuleSet {
  const rand = prng(seed);
  const pick = (): string => HOSTILE[Math.floor(rand() * HOSTILE.length)]!;
  const id = (n: number): string => `${pick()}#${n}`;
  const sets = [podsSet(id(1), ['10.1.0.11', '10.2.0.12', 'fd00::12']), cidrSet(id(2), '10.0.0.0/8', ['10.2.0.0/24']), podPortsSet(id(3), [{ ip: '10.1.0.13', protocol: 'TCP', port: 8080 }])];
  const rules = [
    rule(id(4), 'ingress', [peers([sets[0]!.id, sets[1]!.id], [tcp(80), udp(1000, 2000)])], pick()),
    rule(id(5), 'egress', [{ kind: 'peer-ports', set: sets[2]!.id }, peers('any', [tcp()])], pick()),
  ];
  const pods = [
    localPod({ name: pick(), uid: pick(), ips: ['10.1.0.11'], ingress: [rules[0]!.id], egress: [rules[1]!.id] }),
    localPod({ name: pick(), uid: `${pick()}-2`, ips: ['10.1.0.14', 'fd00::14'], ingress: [] }),
  ];
  return ruleSet({ node: pick(), pods, rules, sets });
}
