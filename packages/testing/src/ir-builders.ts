import { makeRuleSet, type AddressSet, type Direction, type LocalPod, type PortMatch, type Rule, type RuleSet, type Term } from '@knp/shared';

/** Builders for hand-made rule sets (the IR), so tests read as the policy they express. */
export const podsSet = (id: string, ips: string[]): AddressSet => ({ kind: 'pods', id, selector: `sel:${id}`, ips });
export const cidrSet = (id: string, cidr: string, except: string[] = []): AddressSet => ({ kind: 'cidr', id, cidr, except });
export const podPortsSet = (id: string, entries: { ip: string; protocol: PortMatch['protocol']; port: number }[]): AddressSet => ({
  kind: 'pod-ports', id, selector: `sel:${id}`, entries,
});
export const peers = (ids: 'any' | string[], ports: 'any' | PortMatch[] = 'any'): Term => ({ kind: 'peers', peers: ids, ports });
export const tcp = (port?: number, endPort?: number): PortMatch => ({ protocol: 'TCP', ...(port === undefined ? {} : { port }), ...(endPort === undefined ? {} : { endPort }) });
export const udp = (port?: number, endPort?: number): PortMatch => ({ protocol: 'UDP', ...(port === undefined ? {} : { port }), ...(endPort === undefined ? {} : { endPort }) });
export const rule = (id: string, direction: Direction, terms: Term[], policy = `ns/${id}`): Rule => ({ id, direction, terms, origins: [{ policy, rule: 0 }] });

/** A local pod; `ingress`/`egress` lists the rule ids allowing traffic, undefined = not isolated. */
export function localPod(opts: { name: string; ips: string[]; ingress?: string[]; egress?: string[]; uid?: string }): LocalPod {
  const dir = (rules: string[] | undefined) => ({ isolated: rules !== undefined, policies: rules === undefined ? [] : ['ns/p'], rules: rules ?? [] });
  return { uid: opts.uid ?? `uid-${opts.name}`, pod: opts.name, ips: opts.ips, ingress: dir(opts.ingress), egress: dir(opts.egress) };
}

export function ruleSet(content: { node?: string; pods?: LocalPod[]; rules?: Rule[]; sets?: AddressSet[] }, seq = 1, epoch = 'e1'): RuleSet {
  return makeRuleSet({ node: content.node ?? 'node-1', pods: content.pods ?? [], rules: content.rules ?? [], sets: content.sets ?? [] }, { epoch, seq });
}

export type PodPolicy = { ingress?: string[]; egress?: string[] };

/**
 * One rule set per node from a cluster-wide description: each node gets its own pods (with the given
 * isolation) and every rule and set (sets are cluster-wide, as the compiler makes them).
 */
export function ruleSetsByNode(
  pods: readonly { name: string; ip: string; node: string }[],
  policy: Readonly<Record<string, PodPolicy>>,
  content: { rules?: Rule[]; sets?: AddressSet[] },
  seq: number,
): Map<string, RuleSet> {
  const nodes = [...new Set(pods.map((p) => p.node))].sort();
  return new Map(nodes.map((node) => [node, ruleSet({
    node,
    pods: pods.filter((p) => p.node === node).map((p) => localPod({ name: p.name, ips: [p.ip], ...policy[p.name] })),
    rules: content.rules ?? [],
    sets: content.sets ?? [],
  }, seq)]));
}
