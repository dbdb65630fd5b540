import type { AddressSet, LocalPod, PortMatch, Rule, RuleSetContent, Term } from '@knp/shared';

/** What changed between two versions of a node's rule set, in the words of the policies (for `knp history`). */
export type RuleSetDiff = {
  readonly pods: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly isolation: readonly string[] };
  readonly policies: { readonly added: readonly string[]; readonly removed: readonly string[] };
  /** Rules as `<policy> ingress[i]: <peers> <ports>`; tier rules as `ClusterNetworkPolicy <name> (<tier> tier, priority <p>) ingress[i]: <action> ...`. */
  readonly rules: { readonly added: readonly string[]; readonly removed: readonly string[] };
  /** Peer sets whose members changed, and sets that came or went. */
  readonly peers: readonly { readonly set: string; readonly added: readonly string[]; readonly removed: readonly string[] }[];
};

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const minus = (a: Iterable<string>, b: ReadonlySet<string>): string[] => [...a].filter((x) => !b.has(x)).sort(byText);

function side(pod: LocalPod, direction: 'ingress' | 'egress'): string {
  const d = pod[direction];
  return d.isolated ? `${direction} isolated by ${d.policies.join(', ')}` : `${direction} open`;
}

/** NetworkPolicies as `ns/name`, ClusterNetworkPolicies as `ClusterNetworkPolicy name`. */
function policiesOf(content: RuleSetContent): Set<string> {
  const cluster = (content.tierRules ?? []).map((r) => `ClusterNetworkPolicy ${r.origin.policy}`);
  return new Set([...content.pods.flatMap((p) => [...p.ingress.policies, ...p.egress.policies]), ...cluster]);
}

function describePorts(ports: 'any' | readonly PortMatch[]): string {
  if (ports === 'any') return 'all ports';
  return ports.map((p) => `${p.port === undefined ? 'all' : p.endPort !== undefined ? `${p.port}-${p.endPort}` : p.port}/${p.protocol}`).join(', ');
}

function describeTerm(term: Term, sets: ReadonlyMap<string, AddressSet>): string {
  if (term.kind === 'peer-ports') return `named ports of ${setName(sets.get(term.set)) ?? term.set}`;
  const peers = term.peers === 'any' ? 'anyone' : term.peers.map((id) => setName(sets.get(id)) ?? id).join(' | ');
  return `${peers} on ${describePorts(term.ports)}`;
}

function setName(set: AddressSet | undefined): string | undefined {
  if (!set) return undefined;
  return set.kind === 'cidr' ? `${set.cidr}${set.except.length ? ` except ${set.except.join(', ')}` : ''}` : set.selector;
}

function describeRules(content: RuleSetContent): Map<string, string> {
  const sets = new Map(content.sets.map((s) => [s.id, s]));
  const out = new Map<string, string>();
  for (const rule of content.rules as readonly Rule[]) {
    const what = rule.terms.map((t) => describeTerm(t, sets)).join('; ') || 'nothing';
    for (const o of rule.origins) out.set(`${o.policy} ${rule.direction}[${o.rule}]: ${rule.direction === 'ingress' ? 'from' : 'to'} ${what}`, rule.id);
  }
  for (const rule of content.tierRules ?? []) {
    const what = rule.terms.map((t) => describeTerm(t, sets)).join('; ') || 'nothing';
    const { policy, tier, priority, rule: at } = rule.origin;
    out.set(`ClusterNetworkPolicy ${policy} (${tier} tier, priority ${priority}) ${rule.direction}[${at}]: ${rule.action} ${rule.direction === 'ingress' ? 'from' : 'to'} ${what}`, rule.id);
  }
  return out;
}

function members(set: AddressSet): Set<string> {
  switch (set.kind) {
    case 'pods': case 'nodes': return new Set(set.ips);
    case 'pod-ports': return new Set(set.entries.map((e) => `${e.ip} ${e.port}/${e.protocol}`));
    case 'cidr': return new Set();
  }
}

/** The change from `prev` (undefined: the node had no rule set) to `next`. Pure. */
export function diffRuleSets(prev: RuleSetContent | undefined, next: RuleSetContent): RuleSetDiff {
  const before = new Map((prev?.pods ?? []).map((p) => [p.uid, p]));
  const after = new Map(next.pods.map((p) => [p.uid, p]));
  const isolation: string[] = [];
  for (const [uid, pod] of after) {
    const old = before.get(uid);
    if (!old) continue;
    for (const direction of ['ingress', 'egress'] as const)
      if (side(old, direction) !== side(pod, direction)) isolation.push(`${pod.pod}: ${side(old, direction)} -> ${side(pod, direction)}`);
  }
  const name = (p: LocalPod): string => `${p.pod} (${side(p, 'ingress')}; ${side(p, 'egress')})`;
  const oldPolicies = policiesOf(prev ?? { node: next.node, pods: [], rules: [], sets: [] }), newPolicies = policiesOf(next);
  const oldRules = prev ? describeRules(prev) : new Map<string, string>(), newRules = describeRules(next);
  const oldSets = new Map((prev?.sets ?? []).map((s) => [s.id, s]));
  const peers: RuleSetDiff['peers'][number][] = [];
  for (const set of next.sets) {
    const old = oldSets.get(set.id);
    const label = setName(set) ?? set.id;
    const now = members(set), then = old ? members(old) : new Set<string>();
    const added = minus(now, then), removed = minus(then, now);
    if (added.length > 0 || removed.length > 0) peers.push({ set: label, added, removed });
  }
  return {
    pods: {
      added: [...after.values()].filter((p) => !before.has(p.uid)).map(name).sort(byText),
      removed: [...before.values()].filter((p) => !after.has(p.uid)).map((p) => p.pod).sort(byText),
      isolation: isolation.sort(byText),
    },
    policies: { added: minus(newPolicies, oldPolicies), removed: minus(oldPolicies, newPolicies) },
    rules: { added: minus(newRules.keys(), new Set(oldRules.keys())), removed: minus(oldRules.keys(), new Set(newRules.keys())) },
    peers: peers.sort((a, b) => byText(a.set, b.set)),
  };
}

/** True when nothing a person would read changed (a version whose only change is invisible here). */
export function isEmptyDiff(d: RuleSetDiff): boolean {
  return [d.pods.added, d.pods.removed, d.pods.isolation, d.policies.added, d.policies.removed, d.rules.added, d.rules.removed].every((l) => l.length === 0) && d.peers.length === 0;
}
