import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAll, compileNode, clusterPods, emptyState, evaluate, eventsFromObjects, evolveAll, explainMatrix, nodesOf, type ClusterState } from '../src/index.js';
import { has } from '../src/table.js';
import {
  CNP_MATRIX_PODS, CNP_NODE_IPS, CNP_POD_SUBNETS, HOST_NETWORK_PODS, cnpModelObjects, cnpNetnsPods, cnpScenarios, mismatches,
  type CnpScenario, type ExternalProbe, type Pod,
} from '@knp/testing/conformance';
import type { RuleSet } from '@knp/shared';
import type { Table } from '../src/table.js';

// SIG Network's ClusterNetworkPolicy conformance tests, replayed through the compiler: objects -> events ->
// state -> every node's rule set -> explainMatrix (pod pairs) and evaluate (pod to node address), whose
// verdicts come only from the compiled rule sets.
const Cnp = suite('ClusterNetworkPolicy conformance (network-policy-api)');

/** Egress of `probe.from` to an address that is no pod's: only the source side applies. */
function externalVerdict(state: ClusterState, ruleSets: Table<RuleSet>, probe: ExternalProbe, scenario: CnpScenario): boolean {
  const pod = clusterPods(state).find((p) => p.ref === probe.from);
  if (!pod) throw new Error(`${probe.from} is not a pod of the compiled state`);
  const ruleSet = has(ruleSets, pod.node) ? ruleSets[pod.node] : undefined;
  const local = ruleSet?.pods.find((p) => p.uid === pod.uid);
  if (!ruleSet || !local) return true; // a pod its node does not list is not isolated
  return evaluate(ruleSet, local, 'egress', { peerIp: probe.ip, protocol: scenario.protocol, port: scenario.port }).allowed;
}

for (const scenario of cnpScenarios)
  Cnp(scenario.name, () => {
    const objects = [...cnpModelObjects(), ...scenario.policies];
    const { events, errors } = eventsFromObjects(objects);
    assert.equal(errors, [], 'eventsFromObjects errors');
    const state = evolveAll(emptyState(), events);
    const ruleSets = compileAll(state);
    const rejections = [...new Set(nodesOf(state).flatMap((node) => compileNode(state, node).rejections).map((r) => `${r.object} ${r.field}: ${r.reason}`))];
    // upstream's objects are all valid: knp must read every field of them; only knp's fail-closed cases are reported
    if (scenario.failsClosed) assert.ok(rejections.length > 0, 'a fail-closed rule is reported');
    else assert.equal(rejections, [], 'rejections');
    const matrix = explainMatrix(state, ruleSets, scenario.port, scenario.protocol);
    // spec: host-network pods are never subjects nor pod peers; whether a matrix lists them is unspecified
    const wrong = mismatches(scenario.expected, matrix, new Set(HOST_NETWORK_PODS));
    for (const probe of scenario.external ?? []) {
      const got = externalVerdict(state, ruleSets, probe, scenario);
      if (got !== probe.allowed) wrong.push(`${probe.from} -> ${probe.to} (${probe.ip}): expected ${probe.allowed ? 'allowed' : 'denied'}, got ${got ? 'allowed' : 'denied'}`);
    }
    if (wrong.length === 0) return;
    assert.unreachable([
      `${scenario.protocol}/${scenario.port}: ${wrong.length} wrong`,
      ...wrong.map((w) => `  ${w}`),
      ...(rejections.length > 0 ? ['rejections:', ...rejections.map((r) => `  ${r}`)] : []),
      'expected:', scenario.expected.render(),
    ].join('\n'));
  });

/**
 * The upstream tests (conformance/tests/*.go, v1alpha2 ClusterNetworkPolicy; file ShortName) and how many
 * t.Run subtests each has; every one must be in the table. Left out: the v1alpha1 AdminNetworkPolicy "core"
 * and "extended" files (the same subtests, older API), Service-only features and domainNames (not enforced).
 */
const UPSTREAM: ReadonlyArray<readonly [file: string, test: string, subtests: number]> = [
  ['admin-network-policy-standard-ingress-tcp-rules.go', 'CNPAdminTierIngressTCP', 7],
  ['admin-network-policy-standard-ingress-udp-rules.go', 'CNPAdminTierIngressUDP', 6],
  ['admin-network-policy-standard-ingress-sctp-rules.go', 'CNPAdminTierIngressSCTP', 6],
  ['admin-network-policy-standard-egress-tcp-rules.go', 'CNPAdminTierEgressTCP', 6],
  ['admin-network-policy-standard-egress-udp-rules.go', 'CNPAdminTierEgressUDP', 6],
  ['admin-network-policy-standard-egress-sctp-rules.go', 'CNPAdminTierEgressSCTP', 6],
  ['baseline-admin-network-policy-standard-ingress-tcp-rules.go', 'CNPBaselineTierIngressTCP', 5],
  ['baseline-admin-network-policy-standard-ingress-udp-rules.go', 'CNPBaselineTierIngressUDP', 4],
  ['baseline-admin-network-policy-standard-ingress-sctp-rules.go', 'CNPBaselineTierIngressSCTP', 4],
  ['baseline-admin-network-policy-standard-egress-tcp-rules.go', 'CNPBaselineTierEgressTCP', 4],
  ['baseline-admin-network-policy-standard-egress-udp-rules.go', 'CNPBaselineTierEgressUDP', 4],
  ['baseline-admin-network-policy-standard-egress-sctp-rules.go', 'CNPBaselineTierEgressSCTP', 4],
  ['admin-network-policy-standard-gress-rules.go', 'CNPAdminTierGress', 6],
  ['baseline-admin-network-policy-standard-gress-rules.go', 'CNPBaselineTierGress', 4],
  ['admin-network-policy-experimental-egress-rules.go', 'CNPAdminTierEgressNamedPort', 1],
  ['admin-network-policy-experimental-ingress-rules.go', 'CNPAdminTierIngressNamedPort', 1],
  ['baseline-admin-network-policy-experimental-egress-rules.go', 'CNPBaselineTierEgressNamedPort', 1],
  ['admin-network-policy-experimental-egress-rules.go', 'CNPAdminTierEgressNodePeers', 3],
  ['baseline-admin-network-policy-experimental-egress-rules.go', 'CNPBaselineTierEgressNodePeers', 2],
  ['admin-network-policy-standard-ingress-egress-isolation.go', 'CNPAdminTierIngressRulesEgressUnaffected', 3],
  ['admin-network-policy-standard-ingress-egress-isolation.go', 'CNPAdminTierEgressRulesIngressUnaffected', 3],
  ['baseline-admin-network-policy-standard-ingress-egress-isolation.go', 'CNPBaselineTierIngressRulesEgressUnaffected', 3],
  ['baseline-admin-network-policy-standard-ingress-egress-isolation.go', 'CNPBaselineTierEgressRulesIngressUnaffected', 3],
  ['admin-network-policy-standard-same-priority.go', 'CNPAdminTierSamePriority', 3],
  ['baseline-admin-network-policy-standard-same-priority.go', 'CNPBaselineTierSamePriority', 3],
  ['admin-network-policy-same-priority.go', 'CNPAdminTierSamePriority', 2],
  ['admin-network-policy-standard-priority.go', 'CNPAdminTierPriorityField', 3],
  ['admin-network-policy-standard-integration.go', 'CNPAdminTierIntegration', 6],
  ['admin-network-policy-standard-port-range-rules.go', 'CNPAdminTierPortRange', 2],
  ['baseline-admin-network-policy-standard-port-range-rules.go', 'CNPBaselineTierPortRange', 2],
  ['admin-network-policy-standard-pod-selector-rules.go', 'CNPAdminTierPodSelector', 3],
  ['baseline-admin-network-policy-standard-pod-selector-rules.go', 'CNPBaselineTierPodSelector', 3],
  ['admin-network-policy-standard-egress-inline-cidr-rules.go', 'CNPAdminTierEgressInlineCIDRPeers', 2],
  ['baseline-admin-network-policy-standard-egress-inline-cidr-rules.go', 'CNPBaselineTierEgressInlineCIDRPeers', 2],
  ['admin-network-policy-hairpin-rules.go', 'CNPAdminTierHairpin', 1],
];

Cnp('every upstream subtest listed is in the table, with distinct scenario names', () => {
  assert.is(new Set(cnpScenarios.map((s) => s.name)).size, cnpScenarios.length);
  const subtests = new Map<string, Set<string>>();
  for (const s of cnpScenarios)
    if (s.upstream) subtests.set(`${s.upstream.file} ${s.upstream.test}`, (subtests.get(`${s.upstream.file} ${s.upstream.test}`) ?? new Set()).add(s.upstream.subtest));
  const missing = UPSTREAM.filter(([file, test, n]) => (subtests.get(`${file} ${test}`)?.size ?? 0) !== n)
    .map(([file, test, n]) => `${file} ${test}: ${subtests.get(`${file} ${test}`)?.size ?? 0} of ${n} subtests`);
  assert.equal(missing, []);
  assert.is(subtests.size, UPSTREAM.length, 'the table names no upstream test the list lacks');
  const total = UPSTREAM.reduce((sum, [, , n]) => sum + n, 0);
  assert.ok(total >= 120, `${total} upstream subtests`);
});

Cnp('the model fits a two-node netns cluster: each node\'s pods in its own /24, node addresses in none', () => {
  const pods = cnpModelObjects().filter((o): o is Pod => o.kind === 'Pod' && o.spec.hostNetwork !== true);
  assert.equal(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), [...CNP_MATRIX_PODS]);
  const inSubnet = (ip: string, cidr: string): boolean => ip.startsWith(`${cidr.split('/')[0]!.split('.').slice(0, 3).join('.')}.`);
  for (const p of pods) {
    const node = p.spec.nodeName as keyof typeof CNP_POD_SUBNETS;
    assert.ok(inSubnet(p.status.podIP!, CNP_POD_SUBNETS[node]), `${p.metadata.name} ${p.status.podIP} on ${node}`);
  }
  for (const ip of Object.values(CNP_NODE_IPS))
    assert.ok(Object.values(CNP_POD_SUBNETS).every((cidr) => !inSubnet(ip, cidr)), ip);
  assert.is(new Set(pods.map((p) => p.status.podIP)).size, pods.length, 'pod IPs are distinct');
  assert.equal(cnpNetnsPods().map((p) => `${p.name} ${p.ip} ${p.node}`).sort(),
    pods.map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status.podIP} ${p.spec.nodeName}`).sort());
});

Cnp.run();
