import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCidr, normalizeIp, parseCidr, rangeToCidrs, subtractCidrs, formatIp } from '../src/index.js';

const ParseCidr = suite('parseCidr');
const cidrCases: Array<[string, string | undefined]> = [
  ['10.0.0.0/8', '10.0.0.0/8'],
  ['10.1.2.3/8', '10.0.0.0/8'], // host bits set: the API server accepts it and means the network
  ['192.168.1.77/32', '192.168.1.77/32'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['2001:db8::/32', '2001:db8::/32'],
  ['2001:db8:1:2::5/64', '2001:db8:1:2::/64'],
  ['::/0', '::/0'],
  ['::ffff:10.0.0.1/128', '::ffff:a00:1/128'],
  ['10.0.0.0/08', undefined],
  ['10.0.0.0/008', undefined],
  ['10.0.0.0/0', '0.0.0.0/0'],
  ['10.0.0.0/33', undefined],
  ['10.0.0/8', undefined],
  ['10.0.0.0/8 accept', undefined],
  ['10.0.0.0/8\n', undefined],
  ['10.0.0.0', undefined],
  ['fe80::1%eth0/64', undefined],
  ['2001:db8::/129', undefined],
  ['', undefined],
];
for (const [input, expected] of cidrCases)
  ParseCidr(`${JSON.stringify(input)} -> ${expected ?? 'rejected'}`, () => {
    const cidr = parseCidr(input);
    assert.is(cidr && formatCidr(cidr), expected);
  });
ParseCidr.run();

const NormalizeIp = suite('normalizeIp');
const ipCases: Array<[string, string | undefined]> = [
  ['10.0.0.1', '10.0.0.1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['::1', '::1'],
  ['::', '::'],
  ['fd00::a:0:0:0:1', 'fd00:0:0:a::1'],
  ['1.2.3', undefined],
  ['1.2.3.4 ', undefined],
  ['gggg::1', undefined],
];
for (const [input, expected] of ipCases)
  NormalizeIp(`${JSON.stringify(input)} -> ${expected ?? 'rejected'}`, () => assert.is(normalizeIp(input), expected));
NormalizeIp.run();

const Subtract = suite('subtractCidrs');
const show = (cidr: string, except: string[]) =>
  subtractCidrs(parseCidr(cidr)!, except.map((e) => parseCidr(e)!)).flatMap(rangeToCidrs).map(formatCidr);
Subtract('a CIDR without exceptions is itself', () => assert.equal(show('10.0.0.0/8', []), ['10.0.0.0/8']));
Subtract('an exception in the middle splits the network into prefixes', () =>
  assert.equal(show('10.0.0.0/24', ['10.0.0.128/25']), ['10.0.0.0/25']));
Subtract('nested and overlapping exceptions are merged', () =>
  assert.equal(show('10.0.0.0/24', ['10.0.0.0/25', '10.0.0.0/26', '10.0.0.192/26']), ['10.0.0.128/26']));
Subtract('0.0.0.0/0 minus a /8 covers everything else', () => {
  const parts = show('0.0.0.0/0', ['10.0.0.0/8']);
  assert.ok(parts.includes('0.0.0.0/5') && parts.includes('128.0.0.0/1') && parts.includes('11.0.0.0/8'));
  assert.not.ok(parts.some((p) => p.startsWith('10.')));
});
Subtract('an exception of the other family is ignored', () => assert.equal(show('10.0.0.0/8', ['2001:db8::/32']), ['10.0.0.0/8']));
Subtract('IPv6 ranges print canonically', () =>
  assert.equal(show('2001:db8::/126', ['2001:db8::/127']), ['2001:db8::2/127']));
Subtract.run();

const Format = suite('formatIp');
Format('round-trips the largest IPv6 address', () => assert.is(formatIp({ family: 6, value: (1n << 128n) - 1n }), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'));
Format.run();
