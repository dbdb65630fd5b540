import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RuleSetContent } from '@knp/shared';
import { cidrSet, hostileRuleSet, localPod, peers, podPortsSet, podsSet, rule, ruleSet, tcp, udp } from '@knp/testing';
import { iptablesDataplane, nftDataplane, type Dataplane, type Packet, type Verdict } from '@knp/testing/trace';
import { RenderError, renderIpset, renderIptables, renderNft } from '../src/index.js';

// What the conformance model (IPv4 only) leaves out, traced through both backends' text: IPv6 sets, ranges
// and ip6tables, multiport, named-port sets; and hostile rule sets, whose text must still load strictly.
const options = { prefix: 'knp' };
const BACKENDS: Readonly<Record<string, (rs: RuleSetContent) => Dataplane>> = {
  nftables: (rs) => nftDataplane(renderNft(rs, options)),
  iptables: (rs) => iptablesDataplane({ ipset: renderIpset(rs, options), iptables: renderIptables(rs, { ...options, family: 4 }), ip6tables: renderIptables(rs, { ...options, family: 6 }) }),
};

// x/a (10.0.0.1, fd00::1) admits `web` on TCP 80 and fd00::/64 except fd00::5 on UDP 53, 1000-2000 and 5000;
// it may send only to the named port `dns` of fd00::9 (UDP 53).
const dualStack = ruleSet({
  sets: [podsSet('web', ['10.0.0.5', 'fd00::5']), cidrSet('net6', 'fd00::/64', ['fd00::5/128']), podPortsSet('dns', [{ ip: 'fd00::9', protocol: 'UDP', port: 53 }])],
  rules: [
    rule('web-80', 'ingress', [peers(['web'], [tcp(80)])]),
    rule('net6-udp', 'ingress', [peers(['net6'], [udp(53), udp(1000, 2000), udp(5000)])]),
    rule('to-dns', 'egress', [{ kind: 'peer-ports', set: 'dns' }]),
  ],
  pods: [localPod({ name: 'x/a', ips: ['10.0.0.1', 'fd00::1'], ingress: ['web-80', 'net6-udp'], egress: ['to-dns'] })],
});
const packet = (src: string, dst: string, protocol: Packet['protocol'], dport: number): Packet => ({ src, dst, protocol, dport });
const cases: Array<[name: string, packet: Packet, expected: Verdict]> = [
  ['web over IPv4 on TCP 80', packet('10.0.0.5', '10.0.0.1', 'TCP', 80), 'allowed'],
  ['web over IPv6 on TCP 80', packet('fd00::5', 'fd00::1', 'TCP', 80), 'allowed'],
  ['a non-member over IPv4', packet('10.0.0.6', '10.0.0.1', 'TCP', 80), 'dropped'],
  ['the /64 on UDP 53', packet('fd00::7', 'fd00::1', 'UDP', 53), 'allowed'],
  ['the /64 on the last port of 1000-2000', packet('fd00::7', 'fd00::1', 'UDP', 2000), 'allowed'],
  ['the /64 on a port between its ranges', packet('fd00::7', 'fd00::1', 'UDP', 2500), 'dropped'],
  ['the except inside the /64', packet('fd00::5', 'fd00::1', 'UDP', 53), 'dropped'],
  ['outside the /64', packet('fd01::7', 'fd00::1', 'UDP', 53), 'dropped'],
  ['egress to the named port', packet('fd00::1', 'fd00::9', 'UDP', 53), 'allowed'],
  ['egress to the named port over another protocol', packet('fd00::1', 'fd00::9', 'TCP', 53), 'dropped'],
  ['egress over IPv4, which the named port set does not hold', packet('10.0.0.1', '10.0.0.9', 'UDP', 53), 'dropped'],
];

const Traced = suite('rendered rules traced: what the conformance model leaves out');
for (const [backend, load] of Object.entries(BACKENDS)) {
  const dataplane = load(dualStack);
  for (const [name, p, expected] of cases)
    Traced(`${backend}: dual stack: ${name} -> ${expected}`, () => {
      const traced = dataplane.trace(p);
      assert.is(traced.verdict, expected, traced.steps.join('\n'));
    });
  Traced(`${backend}: hostile rule sets render to text the tracer loads strictly`, () => {
    let loaded = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const rs = hostileRuleSet(seed);
      try {
        renderNft(rs, options);
      } catch (err) {
        if (err instanceof RenderError) continue; // refused input renders nothing to trace
        throw err;
      }
      load(rs);
      loaded += 1;
    }
    assert.ok(loaded > 0, 'some hostile rule sets render');
  });
}
Traced.run();
