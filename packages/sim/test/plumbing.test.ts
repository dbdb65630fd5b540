import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { linkLines, nodeAddresses, nodeAddressLines, podLines, podNodeLines, podRemoteLines, remoteNodeRouteLines, type PodPlumbing } from '../src/netns/plumbing.js';

const v4: PodPlumbing = { ip: '10.1.0.10', veth: 'kabcdep0', nodeMac: '02:00:00:01:00:00', podMac: '02:00:00:02:00:00' };
const dual: PodPlumbing = { ...v4, ip6: 'fd00:10:1::10' };
const all = (p: PodPlumbing, src: readonly string[]): string[] =>
  [...linkLines(0, 'l0', '02:00:00:09:00:01', p.ip6 !== undefined), ...podLines(p), ...podNodeLines(p, src), ...podRemoteLines(p, 0, src)];

const Plumbing = suite('netns plumbing lines');

Plumbing('an IPv4-only cluster without node listeners gets exactly the lines it always had', () => {
  assert.equal(all(v4, []), [
    'addr add 172.31.255.1/30 dev l0', 'link set l0 up', 'neigh replace 172.31.255.2 lladdr 02:00:00:09:00:01 dev l0 nud permanent',
    'addr add 10.1.0.10/32 dev eth0', 'link set eth0 up', 'route add 169.254.1.1 dev eth0 scope link',
    'route add default via 169.254.1.1 dev eth0 onlink', 'neigh replace 169.254.1.1 lladdr 02:00:00:01:00:00 dev eth0 nud permanent',
    'link set kabcdep0 up', 'route add 10.1.0.10/32 dev kabcdep0 scope link', 'neigh replace 10.1.0.10 lladdr 02:00:00:02:00:00 dev kabcdep0 nud permanent',
    'route add 10.1.0.10/32 via 172.31.255.1',
  ]);
});

Plumbing('every IPv6 address is added without duplicate address detection (else it stays tentative)', () => {
  const lines = [...all(dual, nodeAddresses(0, true)), ...nodeAddressLines(nodeAddresses(0, true))];
  const v6Addresses = lines.filter((l) => l.startsWith('addr add') && l.includes(':'));
  assert.is(v6Addresses.length, 3, 'link, pod and node address');
  assert.equal(v6Addresses.filter((l) => !l.endsWith('nodad') && !l.includes(' nodad ')), []);
});

Plumbing('routes name the node address of their own family as src, and only with node listeners', () => {
  const src = nodeAddresses(1, true);
  assert.equal(src, ['172.31.254.2', 'fd00:ffff:254::2']);
  assert.equal(podRemoteLines(dual, 0, src), ['route add 10.1.0.10/32 via 172.31.255.1 src 172.31.254.2', 'route add fd00:10:1::10/128 via fd00:ffff:255::1 src fd00:ffff:254::2']);
  assert.equal(remoteNodeRouteLines(0, nodeAddresses(0, false), nodeAddresses(1, false)), ['route add 172.31.254.1/32 via 172.31.255.1 src 172.31.254.2']);
  assert.equal(podRemoteLines(dual, 0, []), ['route add 10.1.0.10/32 via 172.31.255.1', 'route add fd00:10:1::10/128 via fd00:ffff:255::1']);
});

Plumbing('a dual-stack pod routes IPv6 by default via the link-local gateway, answered by a static neighbour', () => {
  const lines = podLines(dual);
  assert.ok(lines.includes('route add ::/0 via fe80::1 dev eth0'));
  assert.ok(lines.includes('neigh replace fe80::1 lladdr 02:00:00:01:00:00 dev eth0 nud permanent'));
});

Plumbing.run();
