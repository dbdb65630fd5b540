/**
 * The issue 3 benchmark node, shared by the nft and iptables benchmarks: 110 local pods under 1,000 cluster
 * policies and 10,000 peer addresses; plus timing helpers and the machine line.
 */
import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { readFileSync } from 'node:fs';
import type { AddressSet, LocalPod, Rule, RuleSetContent } from '@knp/shared';

export const LOCAL_PODS = 110, POLICIES = 1_000, PEERS = 10_000, PEERS_PER_POLICY = 20, NAMESPACES = 100;
export const PREFIX = 'knpb';

export const peerIp = (i: number): string => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
export const localIp = (i: number): string => `10.200.0.${i + 1}`;

/** Policy p selects the local pods of namespace p % 100 and admits a set of 20 peers on TCP 80 and 8080-8090; every 4th also limits egress. */
export function cluster(extraPeer?: number): RuleSetContent {
  const sets: AddressSet[] = [], rules: Rule[] = [];
  for (let p = 0; p < POLICIES; p++) {
    const ips = Array.from({ length: PEERS_PER_POLICY }, (_, k) => peerIp((p * 10 + k * 7) % PEERS));
    if (p === 0 && extraPeer !== undefined) ips.push(peerIp(extraPeer));
    sets.push({ kind: 'pods', id: `set-${p}`, selector: `policy-${p}`, ips });
    const ports = [{ protocol: 'TCP' as const, port: 80 }, { protocol: 'TCP' as const, port: 8080, endPort: 8090 }];
    rules.push({ id: `in-${p}`, direction: 'ingress', terms: [{ kind: 'peers', peers: [`set-${p}`], ports }], origins: [{ policy: `ns-${p % NAMESPACES}/policy-${p}`, rule: 0 }] });
    if (p % 4 === 0) rules.push({ id: `eg-${p}`, direction: 'egress', terms: [{ kind: 'peers', peers: [`set-${p}`], ports: 'any' }], origins: [{ policy: `ns-${p % NAMESPACES}/policy-${p}`, rule: 0 }] });
  }
  const pods: LocalPod[] = Array.from({ length: LOCAL_PODS }, (_, i) => {
    const mine = Array.from({ length: POLICIES / NAMESPACES }, (_, k) => k * NAMESPACES + (i % NAMESPACES));
    return {
      uid: `uid-${i}`,
      pod: `ns-${i % NAMESPACES}/pod-${i}`,
      ips: [localIp(i)],
      ingress: { isolated: true, policies: mine.map((p) => `policy-${p}`), rules: mine.map((p) => `in-${p}`) },
      egress: { isolated: mine.some((p) => p % 4 === 0), policies: [], rules: mine.filter((p) => p % 4 === 0).map((p) => `eg-${p}`) },
    };
  });
  return { node: 'bench-node', pods, rules, sets };
}

export async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const ms = (x: number): string => `${x.toFixed(1)} ms`;

export function machine(extra: readonly string[] = []): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown cpu';
  const nft = execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim();
  const flags = process.execArgv.length > 0 ? ` ${process.execArgv.join(' ')}` : '';
  return [`${model}`, `${cpus().length} cores`, `Linux ${release()}`, nft, ...extra, `Node ${process.version}${flags}`].join(', ');
}

