import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { iptablesDataplane, nftDataplane, tracePath, type Dataplane, type Packet } from '../../src/trace/index.js';

// Two nodes, each dropping TCP to one destination; the same policy written for both backends.
const nft = (dst: string): Dataplane => nftDataplane(`table inet t {}
delete table inet t
table inet t {
	set d {
		type ipv4_addr
		elements = { ${dst} }
	}
	chain fw {
		type filter hook forward priority filter; policy accept;
		ip daddr @d drop
	}
}
`);
const ipt = (dst: string): Dataplane => iptablesDataplane({
  ipset: `create d hash:ip family inet maxelem 1048576 -exist\nadd d ${dst} -exist\n`,
  iptables: '*filter\n:FW - [0:0]\n-I FORWARD 1 -j FW\n-A FW -m set --match-set d dst -j DROP\nCOMMIT\n',
  ip6tables: '*filter\n:FW - [0:0]\n-I FORWARD 1 -j FW\nCOMMIT\n',
});
const tcp = (dst: string): Packet => ({ src: '10.0.0.1', dst, protocol: 'TCP', dport: 80 });

const Path = suite('tracePath');
for (const [backend, plane] of [['nftables', nft], ['iptables', ipt]] as const) {
  const hops = [{ node: 'n1', dataplane: plane('10.0.0.2') }, { node: 'n2', dataplane: plane('10.0.0.3') }];
  Path(`${backend}: a packet must pass every node on its path`, () => {
    assert.is(tracePath(tcp('10.0.0.2'), hops).verdict, 'dropped', 'dropped on the first node');
    assert.is(tracePath(tcp('10.0.0.3'), hops).verdict, 'dropped', 'dropped on the second node');
    assert.is(tracePath(tcp('10.0.0.4'), hops).verdict, 'allowed');
  });
  Path(`${backend}: the trace stops at the node that drops, and names the node of each step`, () => {
    const steps = tracePath(tcp('10.0.0.2'), hops).steps;
    assert.ok(steps.length > 0 && steps.every((s) => s.startsWith('n1: ')), steps.join('\n'));
  });
}
Path('an IPv6 packet crosses the ip6tables table of an iptables node', () => {
  assert.is(ipt('10.0.0.2').trace({ src: 'fd00::1', dst: 'fd00::2', protocol: 'UDP', dport: 53 }).verdict, 'allowed');
});
Path.run();
