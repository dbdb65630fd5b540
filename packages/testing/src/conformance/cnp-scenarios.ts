import type { Protocol } from '@knp/shared';
import { houseScenarios, swap, type CnpScenario, type Upstream } from './cnp-build.js';
import type { HousePolicy, HousePorts, HouseRule } from './cnp-expect.js';
import { HOUSES, type House } from './cnp-model.js';
import { cnpSelectorScenarios } from './cnp-scenarios-peers.js';

/**
 * SIG Network's ClusterNetworkPolicy conformance tests (kubernetes-sigs/network-policy-api conformance/tests,
 * the "standard" and "experimental" v1alpha2 CNP tests, each an Admin-tier file and its Baseline-tier twin)
 * as table scenarios over the model of cnp-model.ts. Where the stored upstream file was still the
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy version, it is translated: ANP -> tier Admin, BANP -> tier
 * Baseline, Allow -> Accept, same priorities and rule order. Upstream's subtests run in sequence on one
 * cluster and patch the policies as they go (swap rules 0 and 1, then 0 and 2, ...): each scenario holds
 * the policies as they stand during its subtest. Upstream probes a few pod pairs on two ports; each
 * scenario here is the whole 8 x 8 matrix on one port (one scenario per served port of each protocol the
 * subtest probes), with upstream's pairs among its cells.
 */

const STANDARD_PROTOCOL_FILE = (tier: 'Admin' | 'Baseline', direction: 'ingress' | 'egress', protocol: Protocol): Upstream => ({
  file: `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-standard-${direction}-${protocol.toLowerCase()}-rules.go`,
  test: `CNP${tier}Tier${direction === 'ingress' ? 'Ingress' : 'Egress'}${protocol}`,
});

/** The houses and ports of one protocol file: rules on house a (everything), b (at port bPort), c (only cPort). */
type ProtocolFile = {
  readonly direction: 'ingress' | 'egress';
  readonly protocol: Protocol;
  readonly name: string;
  readonly priority: number;
  readonly subject: House;
  readonly a: House;
  readonly b: House;
  readonly bPort: number;
  readonly c: House;
  readonly cPort: number;
};

// the policies of base/admin_tier/standard-{ingress,egress}-{tcp,udp,sctp}-rules.yaml
const PROTOCOL_FILES: readonly ProtocolFile[] = [
  { direction: 'ingress', protocol: 'TCP', name: 'ingress-tcp', priority: 3, subject: 'gryffindor', a: 'ravenclaw', b: 'slytherin', bPort: 80, c: 'hufflepuff', cPort: 80 },
  { direction: 'ingress', protocol: 'UDP', name: 'ingress-udp', priority: 4, subject: 'hufflepuff', a: 'ravenclaw', b: 'slytherin', bPort: 5353, c: 'gryffindor', cPort: 53 },
  { direction: 'ingress', protocol: 'SCTP', name: 'ingress-sctp', priority: 5, subject: 'ravenclaw', a: 'gryffindor', b: 'slytherin', bPort: 9003, c: 'hufflepuff', cPort: 9003 },
  { direction: 'egress', protocol: 'TCP', name: 'egress-tcp', priority: 6, subject: 'gryffindor', a: 'ravenclaw', b: 'slytherin', bPort: 80, c: 'hufflepuff', cPort: 8080 },
  { direction: 'egress', protocol: 'UDP', name: 'egress-udp', priority: 7, subject: 'hufflepuff', a: 'ravenclaw', b: 'slytherin', bPort: 5353, c: 'gryffindor', cPort: 53 },
  { direction: 'egress', protocol: 'SCTP', name: 'egress-sctp', priority: 8, subject: 'ravenclaw', a: 'gryffindor', b: 'slytherin', bPort: 9003, c: 'hufflepuff', cPort: 9003 },
];

/** Admin: accept/deny/pass a, deny/pass b at bPort, accept c at cPort, deny c; Baseline: the same without Pass. */
function protocolRules(f: ProtocolFile, tier: 'Admin' | 'Baseline'): HouseRule[] {
  const at = (port: number): HousePorts => ({ [f.protocol]: port });
  return [
    { action: 'Accept', peer: f.a },
    { action: 'Deny', peer: f.a },
    ...(tier === 'Admin' ? [{ action: 'Pass', peer: f.a } as const] : []),
    { action: 'Deny', peer: f.b, ports: at(f.bPort) },
    ...(tier === 'Admin' ? [{ action: 'Pass', peer: f.b, ports: at(f.bPort) } as const] : []),
    { action: 'Accept', peer: f.c, ports: at(f.cPort) },
    { action: 'Deny', peer: f.c },
  ];
}

const onePolicy = (f: { name: string; priority: number; subject: House }, tier: 'Admin' | 'Baseline', ingress?: HouseRule[], egress?: HouseRule[]): HousePolicy => ({
  name: tier === 'Admin' ? f.name : 'default', tier, priority: tier === 'Admin' ? f.priority : 10, subject: f.subject,
  ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}),
});

/** A subtest and the patch it applies first (cumulative: later subtests see earlier patches). */
type Step = { readonly subtest: string; readonly patch?: (rules: HouseRule[]) => HouseRule[] };

function steps(upstream: Upstream, base: HousePolicy, list: readonly Step[], protocols: readonly Protocol[]): CnpScenario[] {
  let policy = base;
  return list.flatMap((step) => {
    if (step.patch)
      policy = { ...policy, ...(policy.ingress ? { ingress: step.patch([...policy.ingress]) } : {}), ...(policy.egress ? { egress: step.patch([...policy.egress]) } : {}) };
    return houseScenarios(upstream, step.subtest, [policy], 'namespace-name', protocols);
  });
}

function protocolFile(f: ProtocolFile, tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const rules = protocolRules(f, tier);
  const base = onePolicy(f, tier, f.direction === 'ingress' ? rules : undefined, f.direction === 'egress' ? rules : undefined);
  const d = `${f.direction}`, p = f.protocol;
  const list: Step[] = [
    { subtest: `Should support an 'allow-${d}' policy for ${p} protocol; ensure rule ordering is respected` },
    { subtest: `Should support an 'allow-${d}' policy for ${p} protocol at the specified port` },
    ...(f.direction === 'ingress' && p === 'TCP' ? [{ subtest: 'Should not affect egress traffic when only ingress rules are specified' }] : []),
    { subtest: `Should support an 'deny-${d}' policy for ${p} protocol; ensure rule ordering is respected`, patch: (r) => swap(r, 0, 1) },
    { subtest: `Should support a 'deny-${d}' policy for ${p} protocol at the specified port` },
    ...(tier === 'Admin' ? [
      { subtest: `Should support an 'pass-${d}' policy for ${p} protocol; ensure rule ordering is respected`, patch: (r: HouseRule[]) => swap(r, 0, 2) },
      { subtest: `Should support a 'pass-${d}' policy for ${p} protocol at the specified port`, patch: (r: HouseRule[]) => swap(r, 3, 4) },
    ] : []),
  ];
  return steps(STANDARD_PROTOCOL_FILE(tier, f.direction, f.protocol), base, list, [f.protocol]);
}

/** base/{admin,baseline}_tier/standard-gress-rules-combined.yaml: the TCP file's houses over all three protocols. */
function gressFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const deniedAtB: HousePorts = { TCP: 80, UDP: 53, SCTP: 9003 };
  const rules = (cPorts: HousePorts): HouseRule[] => [
    { action: 'Accept', peer: 'ravenclaw' },
    { action: 'Deny', peer: 'ravenclaw' },
    ...(tier === 'Admin' ? [{ action: 'Pass', peer: 'ravenclaw' } as const] : []),
    { action: 'Deny', peer: 'slytherin', ports: deniedAtB },
    ...(tier === 'Admin' ? [{ action: 'Pass', peer: 'slytherin', ports: deniedAtB } as const] : []),
    { action: 'Accept', peer: 'hufflepuff', ports: cPorts },
    { action: 'Deny', peer: 'hufflepuff' },
  ];
  const base = onePolicy({ name: 'gress-rules', priority: 15, subject: 'gryffindor' }, tier,
    rules({ TCP: 80, UDP: 5353, SCTP: 9003 }), rules({ TCP: 8080, UDP: 5353, SCTP: 9003 }));
  const list: Step[] = [
    { subtest: "Should support an 'allow-gress' policy across different protocols" },
    { subtest: "Should support an 'allow-gress' policy across different protocols at the specified ports" },
    { subtest: "Should support an 'deny-gress' policy across different protocols", patch: (r) => swap(r, 0, 1) },
    { subtest: "Should support a 'deny-gress' policy across different protocols at the specified ports" },
    ...(tier === 'Admin' ? [
      { subtest: "Should support an 'pass-gress' policy across different protocols", patch: (r: HouseRule[]) => swap(r, 0, 2) },
      { subtest: "Should support a 'pass-gress' policy across different protocols at the specified ports", patch: (r: HouseRule[]) => swap(r, 3, 4) },
    ] : []),
  ];
  const upstream = { file: `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-standard-gress-rules.go`, test: `CNP${tier}TierGress` };
  return steps(upstream, base, list, ['TCP', 'UDP', 'SCTP']);
}

/** experimental-{egress,ingress}-rules.go NamedPort tests: one rule of a protocol file rewritten to a named port. */
function namedPortFiles(): CnpScenario[] {
  const file = (tier: 'Admin' | 'Baseline', direction: 'ingress' | 'egress'): Upstream => ({
    file: `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-experimental-${direction}-rules.go`,
    test: `CNP${tier}Tier${direction === 'ingress' ? 'Ingress' : 'Egress'}NamedPort`,
  });
  const named = (f: ProtocolFile, tier: 'Admin' | 'Baseline', index: number, name: string): HousePolicy => {
    const rules = protocolRules(f, tier);
    rules[index] = { ...rules[index]!, namedPort: name };
    return onePolicy(f, tier, f.direction === 'ingress' ? rules : undefined, f.direction === 'egress' ? rules : undefined);
  };
  const [, ingressUdp, , egressTcp, egressUdp] = PROTOCOL_FILES as [ProtocolFile, ProtocolFile, ProtocolFile, ProtocolFile, ProtocolFile, ProtocolFile];
  // `web` is 80/TCP and `dns` 53/UDP on every model pod, so the rewritten rule keeps its verdicts on those ports and matches no other
  return [
    // egress-tcp rule 5 (accept hufflepuff at 8080) becomes `web`: now 80 is accepted and 8080 falls to the deny
    ...houseScenarios(file('Admin', 'egress'), "Should support an 'allow-egress' policy for named port",
      [named({ ...egressTcp, cPort: 80 }, 'Admin', 5, 'web')], 'namespace-name', ['TCP', 'UDP']),
    ...houseScenarios(file('Admin', 'ingress'), "Should support an 'allow-ingress' policy for named port",
      [named(ingressUdp, 'Admin', 5, 'dns')], 'namespace-name', ['UDP', 'TCP']),
    ...houseScenarios(file('Baseline', 'egress'), "Should support an 'allow-egress' policy for named port",
      [named(egressUdp, 'Baseline', 3, 'dns')], 'namespace-name', ['UDP', 'TCP']),
  ];
}

/** standard-ingress-egress-isolation.go: a policy with rules in one direction leaves the other alone. */
function isolationFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const file = `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-standard-ingress-egress-isolation.go`;
  const deny: HouseRule[] = [{ action: 'Deny', peer: 'slytherin' }];
  const prefix = tier === 'Admin' ? 'admin' : 'baseline';
  const ingressOnly: HousePolicy = { name: `${prefix}-ingress-isolation`, tier, priority: 20, subject: 'gryffindor', ingress: deny };
  const egressOnly: HousePolicy = { name: `${prefix}-egress-isolation`, tier, priority: 20, subject: 'gryffindor', egress: deny };
  const run = (test: string, policy: HousePolicy, subtests: string[]) =>
    subtests.flatMap((subtest) => houseScenarios({ file, test }, subtest, [policy], 'namespace-name', ['TCP']));
  return [
    ...run(`CNP${tier}TierIngressRulesEgressUnaffected`, ingressOnly, [
      'Should enforce the ingress rule: deny ingress from slytherin to gryffindor',
      'Should not affect egress: gryffindor can still egress to ravenclaw',
      'Should not affect egress: gryffindor can still egress to hufflepuff',
    ]),
    ...run(`CNP${tier}TierEgressRulesIngressUnaffected`, egressOnly, [
      'Should enforce the egress rule: deny egress from gryffindor to slytherin',
      'Should not affect ingress: ravenclaw can still reach gryffindor',
      'Should not affect ingress: hufflepuff can still reach gryffindor',
    ]),
  ];
}

/** standard-same-priority.go: three policies at one priority are all applied, none to another's subject. */
function samePriorityFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const prefix = tier === 'Admin' ? '' : 'baseline-';
  const priority = tier === 'Admin' ? 15 : 10;
  const denyBoth = (name: string, subject: House, peer: House, port: number): HousePolicy => ({
    name: `${prefix}same-priority-${name}`, tier, priority, subject,
    ingress: [{ action: 'Deny', peer, ports: { TCP: port } }], egress: [{ action: 'Deny', peer, ports: { TCP: port } }],
  });
  const policies = [
    denyBoth('gryffindor-slytherin', 'gryffindor', 'slytherin', 80),
    denyBoth('gryffindor-hufflepuff', 'gryffindor', 'hufflepuff', 80),
    denyBoth('hufflepuff-slytherin', 'hufflepuff', 'slytherin', 8080),
  ];
  const upstream = { file: `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-standard-same-priority.go`, test: `CNP${tier}TierSamePriority` };
  return [
    'Should deny traffic in both directions for each same-priority policy',
    "Should not apply one same-priority policy's rules to another policy's subject",
    'Should not affect traffic matching no same-priority policy',
  ].flatMap((subtest) => houseScenarios(upstream, subtest, policies, 'namespace-name', ['TCP']));
}

/** admin-network-policy-same-priority.go (the earlier CNPAdminTierSamePriority): two accept-then-deny-all policies at one priority. */
function disjointSamePriorityFile(): CnpScenario[] {
  const acceptThenDeny = (name: string, subject: House, peer: House): HousePolicy => ({
    name, tier: 'Admin', priority: 15, subject, ingress: [{ action: 'Accept', peer }, { action: 'Deny', peer: 'all-namespaces' }],
  });
  const policies = [acceptThenDeny('same-priority-1', 'gryffindor', 'ravenclaw'), acceptThenDeny('same-priority-2', 'hufflepuff', 'slytherin')];
  const upstream = { file: 'admin-network-policy-same-priority.go', test: 'CNPAdminTierSamePriority' };
  return ['Should allow traffic matching same priority disjoint policies', 'Should deny traffic not matching same priority disjoint policies']
    .flatMap((subtest) => houseScenarios(upstream, subtest, policies, 'namespace-name', ['TCP']));
}

/** admin-network-policy-standard-priority.go: a Pass at a lower priority number beats a Deny, landing in Baseline. */
function priorityFile(): CnpScenario[] {
  const upstream = { file: 'admin-network-policy-standard-priority.go', test: 'CNPAdminTierPriorityField' };
  const both = (action: HouseRule['action']): Pick<HousePolicy, 'ingress' | 'egress'> => ({ ingress: [{ action, peer: 'slytherin' }], egress: [{ action, peer: 'slytherin' }] });
  const policies = (passPriority: number): HousePolicy[] => [
    { name: 'priority-50-example', tier: 'Admin', priority: 50, subject: 'gryffindor', ...both('Deny') },
    { name: 'old-priority-60-new-priority-40-example', tier: 'Admin', priority: passPriority, subject: 'gryffindor', ...both('Pass') },
    { name: 'default', tier: 'Baseline', priority: 10, subject: 'gryffindor', ...both('Accept') },
  ];
  return [
    ...houseScenarios(upstream, 'Should Deny traffic from slytherin to gryffindor respecting admin CNP', policies(60), 'house-pods', ['TCP']),
    ...houseScenarios(upstream, 'Should Deny traffic to slytherin from gryffindor respecting admin CNP', policies(60), 'house-pods', ['TCP']),
    ...houseScenarios(upstream, 'Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP', policies(40), 'house-pods', ['TCP']),
  ];
}

/** admin-network-policy-standard-integration.go: Admin Pass hands over to a NetworkPolicy, then (once it is deleted) to Baseline. */
function integrationFile(): CnpScenario[] {
  const upstream = { file: 'admin-network-policy-standard-integration.go', test: 'CNPAdminTierIntegration' };
  const admin = (ingress: HouseRule['action'], egress: HouseRule['action']): HousePolicy => ({
    name: 'pass-example', tier: 'Admin', priority: 10, subject: 'gryffindor',
    ingress: [{ action: ingress, peer: 'slytherin' }], egress: [{ action: egress, peer: 'slytherin' }],
  });
  const baseline: HousePolicy = { name: 'default', tier: 'Baseline', priority: 10, subject: 'gryffindor', ingress: [{ action: 'Deny', peer: 'slytherin' }], egress: [{ action: 'Deny', peer: 'slytherin' }] };
  const np = [{ subject: 'gryffindor' as const, ingressFrom: ['slytherin' as const], egressTo: ['slytherin' as const] }];
  const run = (subtest: string, policies: HousePolicy[], nps: typeof np) => houseScenarios(upstream, subtest, policies, 'house-namespaces', ['TCP'], nps);
  return [
    ...run('Should Deny traffic from slytherin to gryffindor respecting admin CNP', [admin('Deny', 'Deny'), baseline], np),
    ...run('Should Deny traffic to slytherin from gryffindor respecting admin CNP', [admin('Deny', 'Deny'), baseline], np),
    ...run("Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy", [admin('Pass', 'Deny'), baseline], np),
    ...run("Should support a 'pass-egress' policy for admin CNP and respect the match for network policy", [admin('Pass', 'Pass'), baseline], np),
    ...run("Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy", [admin('Pass', 'Pass'), baseline], []),
    ...run("Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy", [admin('Pass', 'Pass'), baseline], []),
  ];
}

/** standard-port-range-rules.go: ranges per protocol, then a deny of every house (the subject's own included). */
function portRangeFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const rules: HouseRule[] = [
    { action: 'Accept', peer: 'ravenclaw', ports: { TCP: [80, 8080] } },
    { action: 'Accept', peer: 'hufflepuff', ports: { UDP: [53, 5353] } },
    { action: 'Accept', peer: 'slytherin', ports: { SCTP: [9003, 9005] } },
    { action: 'Deny', peer: 'all-houses' },
  ];
  const policy: HousePolicy = { name: 'port-range-rules', tier, priority: tier === 'Admin' ? 9 : 10, subject: 'gryffindor', ingress: rules, egress: rules };
  const upstream = { file: `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-standard-port-range-rules.go`, test: `CNP${tier}TierPortRange` };
  return [
    'Should support egress port range rules across different protocols',
    'Should support ingress port range rules across different protocols',
  ].flatMap((subtest) => houseScenarios(upstream, subtest, [policy], 'namespace-name', ['TCP', 'UDP', 'SCTP']));
}

/** admin-network-policy-hairpin-rules.go: a pod reaching itself (through its Service, after DNAT) is ingress like any other. */
function hairpinFile(): CnpScenario[] {
  const policy: HousePolicy = { name: 'hairpin-ingress-deny', tier: 'Admin', priority: 15, subject: 'gryffindor', ingress: [{ action: 'Deny', peer: 'gryffindor' }] };
  return houseScenarios({ file: 'admin-network-policy-hairpin-rules.go', test: 'CNPAdminTierHairpin' },
    'Should enforce CNP ingress deny policy on hairpin service traffic', [policy], 'namespace-name', ['TCP']);
}

/** knp's own: tier order and tie-breaks the upstream files leave implicit. */
function tierOrder(): CnpScenario[] {
  const run = (subtest: string, policies: HousePolicy[], nps: Parameters<typeof houseScenarios>[5] = []) =>
    houseScenarios(undefined, subtest, policies, 'namespace-name', ['TCP'], nps);
  const onlySlytherin = [{ subject: 'gryffindor' as const, ingressFrom: ['slytherin' as const], egressTo: HOUSES }];
  const at = (name: string, priority: number, action: HouseRule['action']): HousePolicy =>
    ({ name, tier: 'Admin', priority, subject: 'gryffindor', ingress: [{ action, peer: 'slytherin' }] });
  return [
    ...run('an Admin Accept lets in what a NetworkPolicy isolating the pod would not', [
      { name: 'accept-ravenclaw', tier: 'Admin', priority: 5, subject: 'gryffindor', ingress: [{ action: 'Accept', peer: 'ravenclaw' }] },
    ], onlySlytherin),
    ...run('a NetworkPolicy isolating the pod decides before Baseline: its allow beats a Baseline Deny', [
      { name: 'default', tier: 'Baseline', priority: 5, subject: 'gryffindor', ingress: [{ action: 'Deny', peer: 'all-houses' }] },
    ], onlySlytherin),
    ...run("an egress Accept does not bypass the destination's ingress Deny", [
      { name: 'accept-to-slytherin', tier: 'Admin', priority: 5, subject: 'gryffindor', egress: [{ action: 'Accept', peer: 'slytherin' }] },
      { name: 'deny-from-gryffindor', tier: 'Admin', priority: 6, subject: 'slytherin', ingress: [{ action: 'Deny', peer: 'gryffindor' }] },
    ]),
    ...run('an Admin Deny beats a Baseline Accept, and an Admin Pass at a lower priority number beats both', [
      at('deny', 20, 'Deny'), at('pass', 10, 'Pass'),
      { name: 'default', tier: 'Baseline', priority: 1, subject: 'gryffindor', ingress: [{ action: 'Deny', peer: 'slytherin' }] },
    ]),
    ...run('at the same priority the policy whose name sorts first decides (accept-a before deny-b)', [at('deny-b', 7, 'Deny'), at('accept-a', 7, 'Accept')]),
    ...run('at the same priority the policy whose name sorts first decides (deny-a before accept-b)', [at('accept-b', 7, 'Accept'), at('deny-a', 7, 'Deny')]),
  ];
}

/** Every scenario of the ClusterNetworkPolicy table. */
export const cnpScenarios: readonly CnpScenario[] = [
  ...(['Admin', 'Baseline'] as const).flatMap((tier) => PROTOCOL_FILES.flatMap((f) => protocolFile(f, tier))),
  ...gressFile('Admin'), ...gressFile('Baseline'),
  ...namedPortFiles(),
  ...isolationFile('Admin'), ...isolationFile('Baseline'),
  ...samePriorityFile('Admin'), ...samePriorityFile('Baseline'), ...disjointSamePriorityFile(),
  ...priorityFile(),
  ...integrationFile(),
  ...portRangeFile('Admin'), ...portRangeFile('Baseline'),
  ...hairpinFile(),
  ...cnpSelectorScenarios(),
  ...tierOrder(),
];
