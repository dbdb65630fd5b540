import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ipsetTest, restoreIpset, type Packet } from '../../src/trace/index.js';
import { probeOf } from '../../src/trace/values.js';

const create = (name: string, type: string, family = 'inet'): string => `create ${name} ${type} family ${family} maxelem 1048576 -exist`;
const tcp = (src: string, dst: string, dport = 80): Packet => ({ src, dst, protocol: 'TCP', dport });

const Restore = suite('restoreIpset');

Restore('fill a temporary set, swap it in, destroy it: the named set holds the new entries, the temporary is gone', () => {
  const old = restoreIpset(`${create('s', 'hash:ip')}\nadd s 10.0.0.9\n`);
  const sets = restoreIpset([create('s-t', 'hash:ip'), 'flush s-t', 'add s-t 10.0.0.1 -exist', create('s', 'hash:ip'), 'swap s-t s', 'destroy s-t', ''].join('\n'), old);
  assert.equal([...sets.keys()], ['s']);
  assert.ok(ipsetTest(sets.get('s')!, probeOf(tcp('10.0.0.1', '10.0.0.2')), ['src']));
  assert.not.ok(ipsetTest(sets.get('s')!, probeOf(tcp('10.0.0.9', '10.0.0.2')), ['src']));
  assert.ok(ipsetTest(old.get('s')!, probeOf(tcp('10.0.0.9', '10.0.0.2')), ['src']), 'the state before is left as it was');
});

Restore('flush empties a set that already exists', () => {
  const sets = restoreIpset(`${create('s', 'hash:ip')}\nadd s 10.0.0.1\nflush s\n`);
  assert.is(sets.get('s')!.entries.size, 0);
});

const refused: Array<[name: string, text: string, error: RegExp]> = [
  ['create of an existing set without -exist', `${create('s', 'hash:ip')}\ncreate s hash:ip family inet maxelem 1048576\n`, /already exists/],
  ['create -exist with other parameters', `${create('s', 'hash:ip')}\n${create('s', 'hash:net')}\n`, /other parameters/],
  ['add of an entry already there without -exist', `${create('s', 'hash:ip')}\nadd s 10.0.0.1\nadd s 10.0.0.1\n`, /already in s/],
  ['add to a set that does not exist', 'add s 10.0.0.1 -exist\n', /does not exist/],
  ['nomatch on a hash:ip entry', `${create('s', 'hash:ip')}\nadd s 10.0.0.1 nomatch -exist\n`, /hash:net entries only/],
  ['a /0 in hash:net', `${create('s', 'hash:net')}\nadd s 0.0.0.0/0\n`, /prefixes 1\.\.32/],
  ['a network with host bits', `${create('s', 'hash:net')}\nadd s 10.0.0.1/8\n`, /host bits/],
  ['an IPv6 entry in an inet set', `${create('s', 'hash:ip')}\nadd s fd00::1\n`, /not an IPv4 address/],
  ['a hash:ip,port entry without a protocol', `${create('s', 'hash:ip,port')}\nadd s 10.0.0.1,80\n`, /not ip,proto:port/],
  ['more entries than maxelem', 'create s hash:ip family inet maxelem 1\nadd s 10.0.0.1\nadd s 10.0.0.2\n', /is full/],
  ['a swap of sets of two types', `${create('a', 'hash:ip')}\n${create('b', 'hash:net')}\nswap a b\n`, /not of one type and family/],
  ['a name longer than 31 characters', `${create('a'.repeat(32), 'hash:ip')}\n`, /at most 31/],
  ['a command outside our dialect', `${create('s', 'hash:ip')}\ntest s 10.0.0.1\n`, /not an ipset command/],
  ['flags in another order', `${create('s', 'hash:net')}\nadd s 10.0.0.0/8 -exist nomatch\n`, /unknown add flags/],
];
for (const [name, text, error] of refused)
  Restore(`refuses ${name}`, () => {
    assert.throws(() => restoreIpset(text), (err: Error) => err.name === 'TraceError' && error.test(err.message));
  });
Restore.run();

const Lookup = suite('ipsetTest');
const net = restoreIpset([create('n', 'hash:net'), 'add n 10.0.0.0/8', 'add n 10.1.0.0/16 nomatch', 'add n 10.1.2.0/24', 'add n 10.1.2.3 nomatch', ''].join('\n')).get('n')!;
const lookups: Array<[address: string, expected: boolean, why: string]> = [
  ['10.9.9.9', true, 'inside the /8 only'],
  ['10.1.9.9', false, 'the /16 nomatch is more specific than the /8'],
  ['10.1.2.9', true, 'the /24 inside the hole is more specific than the hole'],
  ['10.1.2.3', false, 'an address stored as nomatch is the most specific of all'],
  ['11.0.0.1', false, 'outside every entry'],
];
for (const [address, expected, why] of lookups)
  Lookup(`hash:net with nested nomatch: ${address} ${expected ? 'matches' : 'does not match'} (${why})`, () => {
    assert.is(ipsetTest(net, probeOf(tcp(address, '10.0.0.1')), ['src']), expected);
  });

const ports = restoreIpset(`${create('p', 'hash:ip,port')}\nadd p 10.0.0.2,tcp:80\nadd p 10.0.0.2,udp:81\n`).get('p')!;
const portLookups: Array<[packet: Packet, expected: boolean]> = [
  [tcp('10.0.0.1', '10.0.0.2', 80), true],
  [tcp('10.0.0.1', '10.0.0.2', 81), false],
  [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'UDP', dport: 81 }, true],
  [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'SCTP', dport: 80 }, false],
  [tcp('10.0.0.2', '10.0.0.1', 80), false],
];
for (const [packet, expected] of portLookups)
  Lookup(`hash:ip,port dst,dst: ${packet.protocol} to ${packet.dst}:${packet.dport} ${expected ? 'matches' : 'does not match'}`, () => {
    assert.is(ipsetTest(ports, probeOf(packet), ['dst', 'dst']), expected);
  });
Lookup('hash:ip,port src,dst reads the address from the source and the port from the destination', () => {
  assert.ok(ipsetTest(ports, probeOf(tcp('10.0.0.2', '10.0.0.1', 80)), ['src', 'dst']));
});
Lookup.run();
