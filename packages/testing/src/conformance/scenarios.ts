import type { Protocol } from '@knp/shared';
import {
  MODEL_PORTS, NAMESPACE_NAME_LABEL, hostCidr, matrixPods, modelObjects, pod, podIp, policy,
  type ContainerPort, type EgressRule, type IngressRule, type LabelSelector, type LabelSelectorRequirement,
  type Labels, type ModelObject, type ModelOverrides, type NetworkPolicy,
} from './model.js';
import { Reachability } from './reachability.js';

/**
 * The upstream Kubernetes e2e NetworkPolicy tests (test/e2e/network/netpol/network_policy.go), re-expressed
 * over the full x/y/z model, plus cases upstream leaves implicit (named ports per pod, endPort, ipBlock
 * host bits, policyTypes defaulting, pods that are finished, IP-less or on the host network).
 * A multi-step upstream test becomes one scenario per step, each holding the objects as they end up.
 * Expected values follow the spec: traffic flows iff the source's egress allows it and the destination's
 * ingress allows it; a direction no policy isolates allows everything; a pod to itself is a pair like any other.
 * Pure data: the compiler test and the real-kernel tests both replay these.
 */
export type Scenario = {
  /** A sentence; the test's name. */
  readonly name: string;
  /** How the cluster differs from the model (final labels, added or replaced pods). */
  readonly objects?: ModelOverrides;
  /** The final set of policies. */
  readonly policies: readonly NetworkPolicy[];
  readonly port: number;
  readonly protocol: Protocol;
  readonly expected: Reachability;
  /** Set when a real kernel cannot replay the scenario, saying why. */
  readonly compilerOnly?: string;
};

/** Every object of a scenario: the model with its overrides, then the policies. */
export function scenarioObjects(scenario: Scenario): ModelObject[] {
  return [...modelObjects(scenario.objects), ...scenario.policies];
}

type Definition = {
  readonly objects?: ModelOverrides;
  readonly policies: readonly NetworkPolicy[];
  readonly port?: number;
  readonly protocol?: Protocol;
  readonly compilerOnly?: string;
};

const NO_SCTP = 'SCTP: test kernels lack the sctp module';

/** Builds a scenario: the matrix starts all-allowed over the scenario's pods, then `expect` edits it. */
function scenario(name: string, definition: Definition, expect: (r: Reachability) => void = () => {}): Scenario {
  const protocol = definition.protocol ?? 'TCP';
  const compilerOnly = definition.compilerOnly ?? (protocol === 'SCTP' ? NO_SCTP : undefined);
  const expected = new Reachability(matrixPods(modelObjects(definition.objects)), true);
  expect(expected);
  return {
    name,
    ...(definition.objects ? { objects: definition.objects } : {}),
    policies: definition.policies,
    port: definition.port ?? 80,
    protocol,
    expected,
    ...(compilerOnly !== undefined ? { compilerOnly } : {}),
  };
}

const ALL: LabelSelector = {};
const labelled = (labels: Labels): LabelSelector => ({ matchLabels: labels });
const podIs = (name: string): LabelSelector => labelled({ pod: name });
const nsIs = (ns: string): LabelSelector => labelled({ [NAMESPACE_NAME_LABEL]: ns });
const having = (...requirements: LabelSelectorRequirement[]): LabelSelector => ({ matchExpressions: requirements });
const req = (key: string, operator: LabelSelectorRequirement['operator'], values?: string[]): LabelSelectorRequirement =>
  values === undefined ? { key, operator } : { key, operator, values };

const ingressPolicy = (ns: string, name: string, podSelector: LabelSelector, ingress: IngressRule[]): NetworkPolicy =>
  policy(ns, name, { podSelector, policyTypes: ['Ingress'], ingress });
const egressPolicy = (ns: string, name: string, podSelector: LabelSelector, egress: EgressRule[]): NetworkPolicy =>
  policy(ns, name, { podSelector, policyTypes: ['Egress'], egress });
const denyAll = (ns: string): NetworkPolicy =>
  policy(ns, 'deny-all', { podSelector: ALL, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
const denyIngress = (ns: string, podSelector: LabelSelector = ALL, name = 'deny-ingress'): NetworkPolicy =>
  ingressPolicy(ns, name, podSelector, []);

/** x/a declares `http` on 80, x/b on 81 (in a second container), x/c not at all: named ports resolve per pod. */
const httpPorts: ModelOverrides = {
  pods: [
    pod({ ns: 'x', name: 'a', containers: [[...MODEL_PORTS, { name: 'http', containerPort: 80, protocol: 'TCP' }]] }),
    pod({ ns: 'x', name: 'b', containers: [MODEL_PORTS, [{ name: 'http', containerPort: 81 } satisfies ContainerPort]] }),
  ],
};

const fromYOnPort = (protocol: Protocol, port: number): NetworkPolicy =>
  ingressPolicy('x', `allow-y-on-${protocol.toLowerCase()}-${port}`, podIs('a'), [
    { from: [{ namespaceSelector: nsIs('y') }], ports: [{ protocol, port }] },
  ]);
const onlyFromYA = (): NetworkPolicy =>
  ingressPolicy('x', 'allow-y-a', podIs('a'), [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }]);
const exceptXB = (): NetworkPolicy =>
  egressPolicy('x', 'allow-large-cidr-but-x-b', podIs('a'), [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [hostCidr('x/b')] } }] }]);

const twoRules = (): NetworkPolicy =>
  ingressPolicy('x', 'two-rules', podIs('a'), [
    { from: [{ podSelector: podIs('b') }], ports: [{ port: 81 }] },
    { from: [{ podSelector: podIs('c') }], ports: [{ port: 80 }] },
  ]);
const tcp80udp81 = (): NetworkPolicy =>
  ingressPolicy('x', 'tcp-80-udp-81', podIs('a'), [{ ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 81 }] }]);
const httpToXB = (): NetworkPolicy =>
  egressPolicy('z', 'http-to-x-b', podIs('a'), [{ to: [{ namespaceSelector: nsIs('x'), podSelector: podIs('b') }], ports: [{ port: 'http' }] }]);

/** Default deny, allow-all and namespace isolation. */
const isolation: Scenario[] = [
  scenario("A 'default-deny-ingress' policy in x denies all TCP ingress into x, from x itself included",
    { policies: [denyIngress('x')] },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario("A 'default-deny-ingress' policy in x denies all UDP ingress into x",
    { policies: [denyIngress('x')], protocol: 'UDP' },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario("A 'default-deny-ingress' policy in x denies all SCTP ingress into x",
    { policies: [denyIngress('x')], protocol: 'SCTP' },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario("A 'default-deny-all' policy in x denies all traffic into and out of x",
    { policies: [denyAll('x')] },
    (r) => r.expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false)),
  scenario('A policy with only an empty podSelector defaults to policyTypes [Ingress] and denies ingress into x',
    { policies: [policy('x', 'empty-spec', { podSelector: ALL })] },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario('A deny-egress policy selecting pod=a in x denies all egress from x/a only',
    { policies: [egressPolicy('x', 'deny-egress-a', podIs('a'), [])] },
    (r) => r.expectAllEgress('x/a', false)),
  scenario('A deny-egress policy with an empty podSelector denies egress from every pod in x',
    { policies: [egressPolicy('x', 'deny-egress', ALL, [])] },
    (r) => r.expectPeer({ ns: 'x' }, {}, false)),
  scenario('An allow-all ingress policy in x leaves port 81 open from everywhere',
    { policies: [ingressPolicy('x', 'allow-all', ALL, [{}])], port: 81 }),
  scenario('An ingress rule with an empty from list allows every source on its port',
    { policies: [ingressPolicy('y', 'empty-from', ALL, [{ from: [], ports: [{ port: 80 }] }])] }),
  scenario('An egress rule with an empty to list allows every destination on its port',
    { policies: [egressPolicy('x', 'empty-to', podIs('a'), [{ to: [], ports: [{ protocol: 'TCP', port: 80 }] }])] }),
  scenario('Ingress from an empty podSelector peer admits only pods of the policy namespace',
    { policies: [ingressPolicy('x', 'same-namespace', ALL, [{ from: [{ podSelector: ALL }] }])] },
    (r) => r.expectPeer({ ns: 'y' }, { ns: 'x' }, false).expectPeer({ ns: 'z' }, { ns: 'x' }, false)),
  scenario('A policy in y selecting pod=a isolates y/a only, not x/a or z/a',
    { policies: [denyIngress('y', podIs('a'))] },
    (r) => r.expectAllIngress('y/a', false)),
  scenario('With every policy deleted all traffic is allowed again',
    { policies: [] }),
  scenario('After an allow-all ingress policy is updated to have no rules, x denies all ingress',
    { policies: [ingressPolicy('x', 'allow-all-mutate-to-deny-all', ALL, [])], port: 81 },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
];

/** Pod and namespace selectors. */
const selectors: Scenario[] = [
  scenario('x/a admits ingress only from x/b when its policy allows podSelector pod=b',
    { policies: [ingressPolicy('x', 'x-a-allows-x-b', podIs('a'), [{ from: [{ podSelector: podIs('b') }] }])] },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('A pod isolated for ingress reaches itself only when a rule selects it as a peer',
    { policies: [ingressPolicy('x', 'x-a-allows-itself', podIs('a'), [{ from: [{ podSelector: podIs('a') }] }])] },
    (r) => r.expectAllIngress('x/a', false).expect('x/a', 'x/a', true)),
  scenario('A deny-ingress policy in x plus an allow-all-to-a policy opens x/a to everyone and keeps x/b and x/c closed',
    {
      policies: [denyIngress('x', ALL, 'deny-all'),
        ingressPolicy('x', 'allow-all-to-a', podIs('a'), [{ from: [{ podSelector: ALL, namespaceSelector: ALL }] }])],
    },
    (r) => r.expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true)),
  scenario('An empty namespaceSelector peer admits pods of every namespace',
    { policies: [ingressPolicy('x', 'allow-from-all-ns', podIs('a'), [{ from: [{ namespaceSelector: labelled({}) }] }])] }),
  scenario('The automatic kubernetes.io/metadata.name label selects namespace y',
    { policies: [ingressPolicy('x', 'allow-ns-y', podIs('a'), [{ from: [{ namespaceSelector: nsIs('y') }] }])] },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('A podSelector with matchExpressions In [b] admits x/b only',
    { policies: [ingressPolicy('x', 'x-a-allows-in-b', podIs('a'), [{ from: [{ podSelector: having(req('pod', 'In', ['b'])) }] }])] },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('A namespaceSelector with matchExpressions In [y] on the name label admits namespace y only',
    {
      policies: [ingressPolicy('x', 'allow-ns-in-y', podIs('a'), [
        { from: [{ namespaceSelector: having(req(NAMESPACE_NAME_LABEL, 'In', ['y'])) }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('A namespace peer (NotIn [x]) and a pod peer (pod=b) in one rule admit either',
    {
      policies: [ingressPolicy('x', 'ns-or-pod', podIs('a'), [{
        from: [{ namespaceSelector: having(req(NAMESPACE_NAME_LABEL, 'NotIn', ['x'])) }, { podSelector: podIs('b') }],
      }])],
    },
    (r) => r.expect('x/a', 'x/a', false).expect('x/c', 'x/a', false)),
  scenario('Both selectors in one peer (namespace NotIn [x] and pod=b) admit only pods matching both',
    {
      policies: [ingressPolicy('x', 'ns-and-pod', podIs('a'), [{
        from: [{ namespaceSelector: having(req(NAMESPACE_NAME_LABEL, 'NotIn', ['x'])), podSelector: podIs('b') }],
      }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true)),
  scenario('Both selectors with expressions (namespace NotIn [x], pod In [b, c]) admit y/b, y/c, z/b and z/c',
    {
      policies: [ingressPolicy('x', 'ns-not-x-pod-b-c', podIs('a'), [{
        from: [{ namespaceSelector: having(req(NAMESPACE_NAME_LABEL, 'NotIn', ['x'])), podSelector: having(req('pod', 'In', ['b', 'c'])) }],
      }])],
    },
    (r) => r.expectAllIngress('x/a', false).expectPeer({ ns: 'y', pod: 'b' }, { ns: 'x', pod: 'a' }, true)
      .expectPeer({ ns: 'y', pod: 'c' }, { ns: 'x', pod: 'a' }, true).expectPeer({ ns: 'z', pod: 'b' }, { ns: 'x', pod: 'a' }, true)
      .expectPeer({ ns: 'z', pod: 'c' }, { ns: 'x', pod: 'a' }, true)),
  scenario('Two pod peers (pod=b, pod=c) admit x/b and x/c',
    { policies: [ingressPolicy('x', 'x-b-or-x-c', podIs('a'), [{ from: [{ podSelector: podIs('b') }, { podSelector: podIs('c') }] }])] },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true)),
  scenario('A peer with namespace y and pod=a admits y/a only',
    { policies: [onlyFromYA()] },
    (r) => r.expectAllIngress('x/a', false).expect('y/a', 'x/a', true)),
  scenario('An empty namespaceSelector with pod=a admits pod a of every namespace',
    { policies: [ingressPolicy('x', 'pod-a-anywhere', podIs('c'), [{ from: [{ namespaceSelector: ALL, podSelector: podIs('a') }] }])] },
    (r) => r.expectAllIngress('x/c', false).expectPeer({ pod: 'a' }, { ns: 'x', pod: 'c' }, true)),
  scenario('A podSelector with Exists admits labelled pods of the policy namespace only',
    {
      objects: { podLabels: { 'x/b': { pod: 'b', role: 'db' }, 'y/b': { pod: 'b', role: 'db' } } },
      policies: [ingressPolicy('x', 'role-exists', podIs('a'), [{ from: [{ podSelector: having(req('role', 'Exists')) }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('A podSelector with NotIn matches pods that lack the key',
    {
      objects: { podLabels: { 'x/b': { pod: 'b', role: 'db' } } },
      policies: [ingressPolicy('x', 'role-not-db', podIs('a'), [{ from: [{ podSelector: having(req('role', 'NotIn', ['db'])) }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/a', 'x/a', true).expect('x/c', 'x/a', true)),
  scenario('A target podSelector with DoesNotExist isolates the pods lacking the label',
    {
      objects: { podLabels: { 'z/c': { pod: 'c', quarantine: 'true' } } },
      policies: [ingressPolicy('z', 'unquarantined-same-ns', having(req('quarantine', 'DoesNotExist')), [{ from: [{ podSelector: ALL }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'z', pod: 'a' }, false).expectPeer({ ns: 'y' }, { ns: 'z', pod: 'a' }, false)
      .expectPeer({ ns: 'x' }, { ns: 'z', pod: 'b' }, false).expectPeer({ ns: 'y' }, { ns: 'z', pod: 'b' }, false)),
  scenario('A namespaceSelector with Exists admits every namespace carrying the key',
    {
      objects: { namespaceLabels: { y: { ns: 'y', team: 'blue' }, z: { ns: 'z', team: 'red' } } },
      policies: [ingressPolicy('x', 'team-exists', podIs('a'), [{ from: [{ namespaceSelector: having(req('team', 'Exists')) }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false)),
  scenario('A namespaceSelector on a user label follows the final namespace labels (z relabelled ns=y)',
    {
      objects: { namespaceLabels: { z: { ns: 'y' } } },
      policies: [ingressPolicy('x', 'allow-ns-label-y', podIs('a'), [{ from: [{ namespaceSelector: labelled({ ns: 'y' }) }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false)),
  scenario('The name label still tells z (relabelled ns=y) from y',
    {
      objects: { namespaceLabels: { z: { ns: 'y' } } },
      policies: [ingressPolicy('x', 'allow-ns-name-y', podIs('a'), [{ from: [{ namespaceSelector: nsIs('y') }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('matchLabels and matchExpressions of one selector must both hold',
    {
      objects: { podLabels: { 'x/b': { pod: 'b', role: 'db' } } },
      policies: [ingressPolicy('x', 'b-without-role', podIs('a'), [{
        from: [{ namespaceSelector: ALL, podSelector: { matchLabels: { pod: 'b' }, matchExpressions: [req('role', 'DoesNotExist')] } }],
      }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true)),
  scenario('Egress to namespaces NotIn [y] on the name label denies x/a -> y only',
    {
      policies: [egressPolicy('x', 'egress-not-y', podIs('a'), [
        { to: [{ namespaceSelector: having(req(NAMESPACE_NAME_LABEL, 'NotIn', ['y'])) }] }])],
    },
    (r) => r.expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y' }, false)),
];

/** Ports: numbers, names, ranges and protocols. */
const ports: Scenario[] = [
  scenario('Ingress allowed from y on TCP 81 admits y at port 81',
    { policies: [fromYOnPort('TCP', 81)], port: 81 },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('Ingress allowed from y on TCP 81 still isolates x/a at port 80',
    { policies: [fromYOnPort('TCP', 81)] },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('Stacked policies for ports 81 and 80 together admit y at port 80',
    { policies: [fromYOnPort('TCP', 81), fromYOnPort('TCP', 80)] },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('Ingress allowed from y on UDP 81 admits y over UDP at port 81',
    { policies: [fromYOnPort('UDP', 81)], port: 81, protocol: 'UDP' },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('Ingress allowed from y on SCTP 81 admits y over SCTP at port 81',
    { policies: [fromYOnPort('SCTP', 81)], port: 81, protocol: 'SCTP' },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('A peer with namespace y and pod=a admits y/a over UDP',
    { policies: [onlyFromYA()], protocol: 'UDP' },
    (r) => r.expectAllIngress('x/a', false).expect('y/a', 'x/a', true)),
  scenario('A peer with namespace y and pod=a admits y/a over SCTP',
    { policies: [onlyFromYA()], protocol: 'SCTP' },
    (r) => r.expectAllIngress('x/a', false).expect('y/a', 'x/a', true)),
  scenario('A port without a protocol means TCP, so UDP to that port is denied',
    { policies: [ingressPolicy('x', 'port-80', podIs('a'), [{ ports: [{ port: 80 }] }])], protocol: 'UDP' },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('Ingress on named port serve-81-tcp for all of x admits everyone at port 81',
    { policies: [ingressPolicy('x', 'named-81', ALL, [{ ports: [{ port: 'serve-81-tcp' }] }])], port: 81 }),
  scenario('Ingress on named port serve-81-tcp for all of x denies port 80',
    { policies: [ingressPolicy('x', 'named-81', ALL, [{ ports: [{ port: 'serve-81-tcp' }] }])] },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario('Ingress from y on named port serve-80-tcp admits y at port 80',
    {
      policies: [ingressPolicy('x', 'y-on-named-80', podIs('a'), [
        { from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }])],
    },
    (r) => r.expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)),
  scenario('Ingress from y on named port serve-80-tcp denies everyone at port 81',
    {
      policies: [ingressPolicy('x', 'y-on-named-80', podIs('a'), [
        { from: [{ namespaceSelector: nsIs('y') }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }])],
      port: 81,
    },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('Egress on named port serve-80-tcp from all of x allows port 80 everywhere',
    { policies: [egressPolicy('x', 'egress-named-80', ALL, [{ ports: [{ port: 'serve-80-tcp' }] }])] }),
  scenario('Egress on named port serve-80-tcp from all of x denies port 81 out of x',
    { policies: [egressPolicy('x', 'egress-named-80', ALL, [{ ports: [{ port: 'serve-80-tcp' }] }])], port: 81 },
    (r) => r.expectPeer({ ns: 'x' }, {}, false)),
  scenario('An ingress named port resolves per destination pod: http is 80 on x/a only',
    { objects: httpPorts, policies: [ingressPolicy('x', 'http', ALL, [{ ports: [{ port: 'http' }] }])] },
    (r) => r.expectAllIngress('x/b', false).expectAllIngress('x/c', false)),
  scenario('An ingress named port resolves per destination pod: http is 81 on x/b only',
    { objects: httpPorts, policies: [ingressPolicy('x', 'http', ALL, [{ ports: [{ port: 'http' }] }])], port: 81 },
    (r) => r.expectAllIngress('x/a', false).expectAllIngress('x/c', false)),
  scenario('An egress named port resolves per destination pod: z/a reaches x/a on http (80)',
    { objects: httpPorts, policies: [egressPolicy('z', 'egress-http', podIs('a'), [{ ports: [{ port: 'http' }] }])] },
    (r) => r.expectAllEgress('z/a', false).expect('z/a', 'x/a', true)),
  scenario('An egress named port resolves per destination pod: z/a reaches x/b on http (81)',
    { objects: httpPorts, policies: [egressPolicy('z', 'egress-http', podIs('a'), [{ ports: [{ port: 'http' }] }])], port: 81 },
    (r) => r.expectAllEgress('z/a', false).expect('z/a', 'x/b', true)),
  scenario('A named port declared with another protocol matches nothing (serve-80-udp as TCP, TCP probe)',
    { policies: [ingressPolicy('x', 'udp-name-as-tcp', podIs('a'), [{ ports: [{ port: 'serve-80-udp', protocol: 'TCP' }] }])] },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A named port declared with another protocol matches nothing (serve-80-udp as TCP, UDP probe)',
    { policies: [ingressPolicy('x', 'udp-name-as-tcp', podIs('a'), [{ ports: [{ port: 'serve-80-udp', protocol: 'TCP' }] }])], protocol: 'UDP' },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A UDP named port opens UDP 81 to x/a under a deny-ingress policy',
    {
      policies: [denyIngress('x'), ingressPolicy('x', 'named-udp-81', podIs('a'), [{ ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }])],
      port: 81, protocol: 'UDP',
    },
    (r) => r.expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true)),
  scenario('An ingress port range 81-85 admits port 81',
    { policies: [ingressPolicy('x', 'range-81-85', ALL, [{ from: [{ namespaceSelector: ALL }], ports: [{ protocol: 'TCP', port: 81, endPort: 85 }] }])], port: 81 }),
  scenario('An ingress port range 81-85 denies port 80',
    { policies: [ingressPolicy('x', 'range-81-85', ALL, [{ from: [{ namespaceSelector: ALL }], ports: [{ protocol: 'TCP', port: 81, endPort: 85 }] }])] },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario('An egress UDP port range 70-80 allows UDP 80 (its last port)',
    { policies: [egressPolicy('x', 'udp-70-80', podIs('a'), [{ ports: [{ protocol: 'UDP', port: 70, endPort: 80 }] }])], protocol: 'UDP' }),
  scenario('An egress UDP port range 70-80 denies UDP 81',
    { policies: [egressPolicy('x', 'udp-70-80', podIs('a'), [{ ports: [{ protocol: 'UDP', port: 70, endPort: 80 }] }])], port: 81, protocol: 'UDP' },
    (r) => r.expectAllEgress('x/a', false)),
  scenario('An egress UDP port range 70-80 denies TCP 80',
    { policies: [egressPolicy('x', 'udp-70-80', podIs('a'), [{ ports: [{ protocol: 'UDP', port: 70, endPort: 80 }] }])] },
    (r) => r.expectAllEgress('x/a', false)),
  scenario('A protocol-only TCP port admits any TCP port',
    { policies: [ingressPolicy('x', 'tcp-only', podIs('a'), [{ ports: [{ protocol: 'TCP' }] }])] }),
  scenario('A protocol-only TCP port denies UDP',
    { policies: [ingressPolicy('x', 'tcp-only', podIs('a'), [{ ports: [{ protocol: 'TCP' }] }])], protocol: 'UDP' },
    (r) => r.expectAllIngress('x/a', false)),
  scenario("An SCTP allow on port 81 is not mistaken for TCP under a deny-ingress policy",
    { policies: [denyIngress('x'), ingressPolicy('x', 'sctp-81', podIs('a'), [{ ports: [{ port: 81, protocol: 'SCTP' }] }])], port: 81 },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario('An SCTP allow on port 81 admits SCTP 81 to x/a under a deny-ingress policy',
    { policies: [denyIngress('x'), ingressPolicy('x', 'sctp-81', podIs('a'), [{ ports: [{ port: 81, protocol: 'SCTP' }] }])], port: 81, protocol: 'SCTP' },
    (r) => r.expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true)),
  scenario('A policy allowing only SCTP 80 isolates x/a for TCP 81',
    { policies: [ingressPolicy('x', 'sctp-80', podIs('a'), [{ ports: [{ port: 80, protocol: 'SCTP' }] }])], port: 81 },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A policy allowing only UDP 81 denies TCP 81',
    { policies: [ingressPolicy('x', 'udp-81', podIs('a'), [{ ports: [{ port: 81, protocol: 'UDP' }] }])], port: 81 },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A policy allowing only UDP 81 admits UDP 81',
    { policies: [ingressPolicy('x', 'udp-81', podIs('a'), [{ ports: [{ port: 81, protocol: 'UDP' }] }])], port: 81, protocol: 'UDP' }),
  scenario('Peers and ports pair up per rule: x/b on 81 and x/c on 80 means only x/c at port 80',
    { policies: [twoRules()] },
    (r) => r.expectAllIngress('x/a', false).expect('x/c', 'x/a', true)),
  scenario('Peers and ports pair up per rule: x/b on 81 and x/c on 80 means only x/b at port 81',
    { policies: [twoRules()], port: 81 },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('Ports of a rule are (protocol, port) pairs: TCP 80 and UDP 81 do not admit TCP 81',
    { policies: [tcp80udp81()], port: 81 },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('Ports of a rule are (protocol, port) pairs: TCP 80 and UDP 81 admit UDP 81',
    { policies: [tcp80udp81()], port: 81, protocol: 'UDP' }),
  scenario('An egress named port with a to peer needs both: z/a reaches x/b on http (81)',
    { objects: httpPorts, policies: [httpToXB()], port: 81 },
    (r) => r.expectAllEgress('z/a', false).expect('z/a', 'x/b', true)),
  scenario('An egress named port with a to peer needs both: x/a declares http on 80 but is not the peer',
    { objects: httpPorts, policies: [httpToXB()] },
    (r) => r.expectAllEgress('z/a', false)),
  scenario('A deny-all policy plus an ingress allow on port 81 opens x to outside sources but not x egress',
    { policies: [denyAll('x'), ingressPolicy('x', 'allow-81', ALL, [{ ports: [{ port: 81 }] }])], port: 81 },
    (r) => r.expectPeer({ ns: 'x' }, {}, false)),
  scenario('A deny-all policy plus an ingress allow on port 81 keeps port 80 closed both ways',
    { policies: [denyAll('x'), ingressPolicy('x', 'allow-81', ALL, [{ ports: [{ port: 81 }] }])] },
    (r) => r.expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false)),
  scenario('A deny-egress policy plus an egress allow on UDP 81 lets x send UDP 81',
    { policies: [egressPolicy('x', 'deny-egress', ALL, []), egressPolicy('x', 'allow-udp-81', ALL, [{ ports: [{ protocol: 'UDP', port: 81 }] }])], port: 81, protocol: 'UDP' }),
  scenario('A deny-egress policy plus an egress allow on UDP 81 still denies TCP 81 out of x',
    { policies: [egressPolicy('x', 'deny-egress', ALL, []), egressPolicy('x', 'allow-udp-81', ALL, [{ ports: [{ protocol: 'UDP', port: 81 }] }])], port: 81 },
    (r) => r.expectPeer({ ns: 'x' }, {}, false)),
];

/** Several policies, both directions, policyTypes. */
const combinations: Scenario[] = [
  scenario('Two policies selecting x/a are additive: x/b and y/c are both admitted',
    {
      policies: [ingressPolicy('x', 'from-x-b', podIs('a'), [{ from: [{ podSelector: podIs('b') }] }]),
        ingressPolicy('x', 'from-y-c', podIs('a'), [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podIs('c') }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expect('y/c', 'x/a', true)),
  scenario('An ingress policy for port 80 alone denies port 81 into x',
    { policies: [ingressPolicy('x', 'allow-ingress-port-80', ALL, [{ ports: [{ port: 80 }] }])], port: 81 },
    (r) => r.expectPeer({}, { ns: 'x' }, false)),
  scenario('An allow-all ingress policy added next to a port-80 policy opens port 81',
    { policies: [ingressPolicy('x', 'allow-ingress-port-80', ALL, [{ ports: [{ port: 80 }] }]), ingressPolicy('x', 'allow-ingress', ALL, [{}])], port: 81 }),
  scenario('An egress policy for port 80 alone denies port 81 out of x',
    { policies: [egressPolicy('x', 'allow-egress-port-80', ALL, [{ ports: [{ port: 80 }] }])], port: 81 },
    (r) => r.expectPeer({ ns: 'x' }, {}, false)),
  scenario('An allow-all egress policy added next to a port-80 egress policy opens port 81',
    { policies: [egressPolicy('x', 'allow-egress-port-80', ALL, [{ ports: [{ port: 80 }] }]), egressPolicy('x', 'allow-egress', ALL, [{}])], port: 81 }),
  scenario('Ingress from pod=b and egress on port 80 in one policy: port 80',
    {
      policies: [policy('x', 'in-and-out', {
        podSelector: podIs('a'), policyTypes: ['Egress', 'Ingress'],
        ingress: [{ from: [{ podSelector: podIs('b') }] }], egress: [{ ports: [{ port: 80 }] }],
      })],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('Ingress from pod=b and egress on port 80 in one policy: port 81 leaves only x/b -> x/a',
    {
      policies: [policy('x', 'in-and-out', {
        podSelector: podIs('a'), policyTypes: ['Egress', 'Ingress'],
        ingress: [{ from: [{ podSelector: podIs('b') }] }], egress: [{ ports: [{ port: 80 }] }],
      })],
      port: 81,
    },
    (r) => r.expectAllIngress('x/a', false).expectAllEgress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('Egress denied on the client wins even where the server admits the client',
    {
      policies: [
        egressPolicy('x', 'allow-to-y-a', podIs('a'), [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }]),
        ingressPolicy('y', 'allow-from-x-a-on-y-a', podIs('a'), [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }]),
        ingressPolicy('y', 'allow-from-x-a-on-y-b', podIs('b'), [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }]),
      ],
    },
    (r) => r.expectAllEgress('x/a', false).expectAllIngress('y/a', false).expect('x/a', 'y/a', true).expectAllIngress('y/b', false)),
  scenario('Egress to namespace y and pod=a lets x/a reach y/a only',
    { policies: [egressPolicy('x', 'allow-to-y-a', podIs('a'), [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }])] },
    (r) => r.expectAllEgress('x/a', false).expect('x/a', 'y/a', true)),
  scenario('Egress from x/a to y and ingress to y/b from x combine per direction',
    {
      policies: [egressPolicy('x', 'a-to-y', podIs('a'), [{ to: [{ namespaceSelector: labelled({ ns: 'y' }) }] }]),
        ingressPolicy('y', 'b-from-x', podIs('b'), [{ from: [{ namespaceSelector: labelled({ ns: 'x' }) }] }])],
    },
    (r) => r.expectAllEgress('x/a', false).expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y' }, true)
      .expectAllIngress('y/b', false).expectPeer({ ns: 'x' }, { ns: 'y', pod: 'b' }, true)),
  scenario('Ingress and egress are controlled independently: an egress allow-all does not open ingress',
    {
      policies: [egressPolicy('x', 'allow-egress-for-target', podIs('a'), [{}]),
        denyIngress('x', podIs('a'), 'deny-ingress-via-label-selector')],
    },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A policy without policyTypes but with egress rules also isolates ingress',
    { policies: [policy('x', 'implicit-types', { podSelector: podIs('a'), egress: [{ to: [{ namespaceSelector: ALL }] }] })] },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('Ingress rules of a policy whose policyTypes list only Egress are ignored',
    {
      policies: [policy('x', 'egress-type-only', {
        podSelector: ALL, policyTypes: ['Egress'],
        ingress: [{ from: [{ podSelector: podIs('b') }] }], egress: [{ to: [{ namespaceSelector: ALL }] }],
      })],
    }),
];

/** ipBlock peers. */
const ipBlocks: Scenario[] = [
  scenario('Egress to the /32 of y/b lets x/a reach y/b only',
    { policies: [egressPolicy('x', 'allow-to-y-b-cidr', podIs('a'), [{ to: [{ ipBlock: { cidr: hostCidr('y/b') } }] }])] },
    (r) => r.expectAllEgress('x/a', false).expect('x/a', 'y/b', true)),
  scenario('Egress to a large CIDR except the /32 of x/b denies x/a -> x/b only',
    { policies: [exceptXB()] },
    (r) => r.expect('x/a', 'x/b', false)),
  scenario('An IP in one policy except list is still allowed by another policy allowing its /32',
    { policies: [exceptXB(), egressPolicy('x', 'allow-x-b-cidr', podIs('a'), [{ to: [{ ipBlock: { cidr: hostCidr('x/b') } }] }])] }),
  scenario('The except policy updated to allow only the /32 of x/b lets x/a reach x/b only',
    { policies: [egressPolicy('x', 'allow-large-cidr-but-x-b', podIs('a'), [{ to: [{ ipBlock: { cidr: hostCidr('x/b') } }] }])] },
    (r) => r.expectAllEgress('x/a', false).expect('x/a', 'x/b', true)),
  scenario('An ingress ipBlock with host bits set (10.1.0.5/24) means 10.1.0.0/24: node-1 pods of every namespace',
    { policies: [ingressPolicy('y', 'node-1-pods', podIs('a'), [{ from: [{ ipBlock: { cidr: '10.1.0.5/24' } }] }])] },
    (r) => r.expectAllIngress('y/a', false)
      .expect('x/a', 'y/a', true).expect('x/c', 'y/a', true).expect('y/b', 'y/a', true).expect('z/a', 'y/a', true).expect('z/c', 'y/a', true)),
  scenario('An ingress ipBlock with an except list admits the CIDR minus the exceptions',
    {
      policies: [ingressPolicy('y', 'cidr-except', podIs('a'), [
        { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.2.0.0/24', hostCidr('x/a')] } }] }])],
    },
    (r) => r.expectAllIngress('y/a', false)
      .expect('x/c', 'y/a', true).expect('y/b', 'y/a', true).expect('z/a', 'y/a', true).expect('z/c', 'y/a', true)),
  scenario('Egress only to its own /32 lets x/a reach itself and nothing else',
    { policies: [egressPolicy('x', 'to-self', podIs('a'), [{ to: [{ ipBlock: { cidr: hostCidr('x/a') } }] }])] },
    (r) => r.expectAllEgress('x/a', false).expect('x/a', 'x/a', true)),
  scenario('Egress to 0.0.0.0/0 except the /32 of y/b denies x/a -> y/b only',
    { policies: [egressPolicy('x', 'all-but-y-b', podIs('a'), [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [hostCidr('y/b')] } }] }])] },
    (r) => r.expect('x/a', 'y/b', false)),
];

/** Label changes and pods that are not plain running pods, as the final objects. */
const lifecycle: Scenario[] = [
  scenario('Before namespace y gets label ns2=updated, nothing reaches x/a',
    { policies: [ingressPolicy('x', 'allow-ns2-updated', podIs('a'), [{ from: [{ namespaceSelector: labelled({ ns2: 'updated' }) }] }])] },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('After namespace y gets label ns2=updated, y reaches x/a',
    {
      objects: { namespaceLabels: { y: { ns: 'y', ns2: 'updated' } } },
      policies: [ingressPolicy('x', 'allow-ns2-updated', podIs('a'), [{ from: [{ namespaceSelector: labelled({ ns2: 'updated' }) }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true)),
  scenario('After x/b gets label pod2=updated, x/b reaches x/a',
    {
      objects: { podLabels: { 'x/b': { pod: 'b', pod2: 'updated' } } },
      policies: [ingressPolicy('x', 'allow-pod2-updated', podIs('a'), [{ from: [{ podSelector: labelled({ pod: 'b', pod2: 'updated' }) }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('Before x/a gets label target=isolated, a policy selecting that label isolates nothing',
    { policies: [denyIngress('x', labelled({ target: 'isolated' }), 'deny-ingress-via-label-selector')] }),
  scenario('After x/a gets label target=isolated, it is isolated for ingress',
    {
      objects: { podLabels: { 'x/a': { pod: 'a', target: 'isolated' } } },
      policies: [denyIngress('x', labelled({ target: 'isolated' }), 'deny-ingress-via-label-selector')],
    },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('An added pod x/d is selected as a peer by its labels',
    {
      objects: { pods: [pod({ ns: 'x', name: 'd', node: 'node-2', ip: '10.2.0.14' })] },
      policies: [ingressPolicy('x', 'from-d', podIs('a'), [{ from: [{ podSelector: podIs('d') }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/d', 'x/a', true)),
  scenario('A pod without an IP is neither in the matrix nor a peer',
    {
      objects: { pods: [pod({ ns: 'x', name: 'pending', labels: { pod: 'b' }, node: 'node-2', ip: null, phase: 'Pending' })] },
      policies: [ingressPolicy('x', 'from-b', podIs('a'), [{ from: [{ podSelector: podIs('b') }] }])],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true)),
  scenario('A Succeeded pod whose IP now belongs to z/c is not a peer',
    {
      objects: { pods: [pod({ ns: 'y', name: 'done', labels: { pod: 'trusted' }, node: 'node-1', ip: podIp('z/c'), phase: 'Succeeded' })] },
      policies: [ingressPolicy('x', 'from-trusted', podIs('a'), [{ from: [{ namespaceSelector: ALL, podSelector: podIs('trusted') }] }])],
    },
    (r) => r.expectAllIngress('x/a', false)),
  scenario('A Failed pod whose IP now belongs to x/c is not a target',
    {
      objects: { pods: [pod({ ns: 'x', name: 'done', labels: { role: 'batch' }, node: 'node-1', ip: podIp('x/c'), phase: 'Failed' })] },
      policies: [denyAll('x'), policy('x', 'allow-all-but-batch', {
        podSelector: having(req('role', 'DoesNotExist')), policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}],
      })],
    }),
  scenario('A hostNetwork pod is neither a target nor a pod peer',
    {
      objects: { pods: [pod({ ns: 'x', name: 'host', labels: { pod: 'b' }, node: 'node-2', hostNetwork: true })] },
      policies: [ingressPolicy('x', 'from-b', podIs('a'), [{ from: [{ podSelector: podIs('b') }] }]), denyIngress('x', podIs('b'))],
    },
    (r) => r.expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expectAllIngress('x/b', false)),
];

export const scenarios: readonly Scenario[] = [...isolation, ...selectors, ...ports, ...combinations, ...ipBlocks, ...lifecycle];
