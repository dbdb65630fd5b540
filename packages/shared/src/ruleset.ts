import { RULESET_SCHEMA, checkSchema } from './schema.js';
import { canonicalJson, sha256 } from './canonical.js';

/**
 * The rule set IR: what the compiler publishes for one node and what every backend renders.
 * Backend-neutral and family-aware. Its size grows with local pods + distinct peer sets + rules, never
 * with local pods x peer pods: peers are named address sets, rules are shared by every pod they apply to.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** All ports of a protocol (no port), one port, or the inclusive range port..endPort. */
export type PortMatch = { readonly protocol: Protocol; readonly port?: number; readonly endPort?: number };

/**
 * A named set of addresses. Its id is a hash of what selects the members (never of the members), so a pod
 * coming or going changes only `ips`/`entries` and can be applied as a set-member change.
 */
export type AddressSet =
  /** IPs (v4 and v6) of the live pods a peer selector selects. */
  | { readonly kind: 'pods'; readonly id: string; readonly selector: string; readonly ips: readonly string[] }
  /** An ipBlock: the network minus its exceptions. Host bits are cleared; all CIDRs are of one family. */
  | { readonly kind: 'cidr'; readonly id: string; readonly cidr: string; readonly except: readonly string[] }
  /** Egress to a named port: the (ip, protocol, port) of each selected pod that declares that port. */
  /** IPs of the Nodes a ClusterNetworkPolicy `nodes` peer selects (their status.addresses). */
  | { readonly kind: 'nodes'; readonly id: string; readonly selector: string; readonly ips: readonly string[] }
  | {
      readonly kind: 'pod-ports';
      readonly id: string;
      readonly selector: string;
      readonly entries: readonly { readonly ip: string; readonly protocol: Protocol; readonly port: number }[];
    };

/** One way a rule can match: any of the peers (or any peer) on any of the ports (or any port). */
export type Term =
  | { readonly kind: 'peers'; readonly peers: 'any' | readonly string[]; readonly ports: 'any' | readonly PortMatch[] }
  /** Address and port come together from a `pod-ports` set (egress named ports, resolved per destination pod). */
  | { readonly kind: 'peer-ports'; readonly set: string };

export type Direction = 'ingress' | 'egress';

/** Where a rule came from: `ns/name` of the policy and the index in its spec.ingress or spec.egress. */
export type RuleOrigin = { readonly policy: string; readonly rule: number };

/** A compiled rule: traffic matches when any term matches. Identical rules of several policies are one rule. */
export type Rule = {
  readonly id: string;
  readonly direction: Direction;
  readonly terms: readonly Term[];
  readonly origins: readonly RuleOrigin[];
};

/**
 * ClusterNetworkPolicy tiers around NetworkPolicy. Per direction, a pod's traffic is decided by its `admin`
 * tier rules in order (the first matching rule decides: Accept allows, Deny drops, Pass leaves the tier),
 * then NetworkPolicy (when a policy isolates the pod in that direction, its rules decide), then its
 * `baseline` tier rules in order (Accept allows, Deny drops), and otherwise the traffic is allowed.
 */
export type Tier = 'admin' | 'baseline';
export type TierAction = 'Accept' | 'Deny' | 'Pass';

/** Where a tier rule came from: the ClusterNetworkPolicy's name, tier and priority, and the rule's index in spec.ingress or spec.egress. */
export type TierRuleOrigin = { readonly policy: string; readonly tier: Tier; readonly priority: number; readonly rule: number };

/** A compiled ClusterNetworkPolicy rule: when any term matches, `action` decides. Shared by every pod it applies to. */
export type TierRule = {
  readonly id: string;
  readonly direction: Direction;
  readonly action: TierAction;
  readonly terms: readonly Term[];
  readonly origin: TierRuleOrigin;
};

/**
 * One direction of one local pod: isolated or not, by which policies, and which rules allow traffic;
 * `admin` and `baseline`: the ids of the tier rules that apply, in evaluation order (absent: none).
 */
export type PodDirection = {
  readonly isolated: boolean;
  readonly policies: readonly string[];
  readonly rules: readonly string[];
  readonly admin?: readonly string[];
  readonly baseline?: readonly string[];
};

export type LocalPod = {
  readonly uid: string;
  readonly pod: string;
  readonly ips: readonly string[];
  readonly ingress: PodDirection;
  readonly egress: PodDirection;
};

/** The version a rule set reflects: the events stream's identity and the sequence that last changed it. */
export type RuleSetVersion = { readonly epoch: string; readonly seq: number };

export type RuleSetContent = {
  readonly node: string;
  readonly pods: readonly LocalPod[];
  readonly rules: readonly Rule[];
  readonly sets: readonly AddressSet[];
  /** The tier rules the pods' `admin`/`baseline` lists name, sorted by id (absent: none). */
  readonly tierRules?: readonly TierRule[];
};

export type RuleSet = RuleSetContent & {
  readonly schema: typeof RULESET_SCHEMA;
  readonly version: RuleSetVersion;
  readonly contentHash: string;
};

const setHashes = new WeakMap<AddressSet, string>();

/** sha256 of one address set's canonical JSON, memoised per set object (sets are shared by many nodes). */
export function addressSetHash(set: AddressSet): string {
  let hash = setHashes.get(set);
  if (hash === undefined) setHashes.set(set, (hash = sha256(canonicalJson(set))));
  return hash;
}

/**
 * sha256 over everything but the version: equal content, equal hash. Sets enter by their own hash, so a
 * large set shared by every node is hashed once, not once per node.
 */
export function contentHash(content: RuleSetContent): string {
  const tiers = content.tierRules && content.tierRules.length > 0 ? { tierRules: content.tierRules } : {};
  return sha256(canonicalJson({ node: content.node, pods: content.pods, rules: content.rules, sets: content.sets.map(addressSetHash), ...tiers }));
}

export function makeRuleSet(content: RuleSetContent, version: RuleSetVersion): RuleSet {
  return { schema: RULESET_SCHEMA, version, contentHash: contentHash(content), ...content };
}

/**
 * An epoch (the events stream's `created` time, RFC 3339 with up to 9 fraction digits) as nanoseconds since
 * 1970, or undefined when it is not such a time. Epochs are compared as instants: as text, "zzzz" would
 * outrank every real epoch and a forged rule set carrying it would freeze a node.
 */
export function epochInstant(epoch: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(epoch);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Orders versions: a different epoch (a recreated stream) by its instant, then sequence. An epoch that is
 * not a time sorts below every real one, so it can never hold a real version back.
 */
export function compareVersions(a: RuleSetVersion, b: RuleSetVersion): number {
  if (a.epoch !== b.epoch) {
    const ta = epochInstant(a.epoch), tb = epochInstant(b.epoch);
    if (ta !== undefined && tb !== undefined && ta !== tb) return ta < tb ? -1 : 1;
    if ((ta === undefined) !== (tb === undefined)) return ta === undefined ? -1 : 1;
    if (ta === undefined) return a.epoch < b.epoch ? -1 : 1;
  }
  return a.seq - b.seq;
}

/** Whether two epochs name the same instant (the same events stream). */
export function sameEpoch(a: string, b: string): boolean {
  const ta = epochInstant(a);
  return ta !== undefined && ta === epochInstant(b);
}

/** Parses a rule set from JSON text, refusing unknown schema versions. */
export function parseRuleSet(text: string): RuleSet {
  const value = JSON.parse(text) as unknown;
  checkSchema('rule set', value, RULESET_SCHEMA);
  return value as RuleSet;
}
