import type { Family, Protocol } from '@knp/shared';

/** Conntrack's view of a packet: the first of a connection (`new`), or one of a connection it has seen. */
export type CtState = 'new' | 'established' | 'related';

/** A packet as it meets a node's forward hook; `ct` is `new` unless told (a reply is `established`). */
export type Packet = { readonly src: string; readonly dst: string; readonly protocol: Protocol; readonly dport: number; readonly ct?: CtState };

/** `allowed` means "not dropped by our rules": whatever else the node holds decides the rest. */
export type Verdict = 'allowed' | 'dropped';

/** The verdict and what the packet met on the way (matched rules, chain ends, policies), for failure messages. */
export type TraceResult = { readonly verdict: Verdict; readonly steps: readonly string[] };

/** Text the tracer refuses (not our renderers' dialect, or something the kernel would reject), or a bad packet. */
export class TraceError extends Error {
  override name = 'TraceError';
}

export type L4Proto = 'tcp' | 'udp' | 'sctp';
export const L4_PROTOS: readonly L4Proto[] = ['tcp', 'udp', 'sctp'];
/** IANA protocol numbers: nft's inet_proto and ipset's proto compare these. */
export const PROTO_NUMBER: Readonly<Record<L4Proto, number>> = { tcp: 6, udp: 17, sctp: 132 };

export const isL4Proto = (text: string): text is L4Proto => (L4_PROTOS as readonly string[]).includes(text);

/** A packet with its addresses parsed, as the matchers compare it. */
export type Probe = {
  readonly family: Family;
  readonly src: bigint;
  readonly dst: bigint;
  readonly proto: L4Proto;
  readonly dport: number;
  readonly ct: CtState;
};

/** `TCP 10.1.0.11 -> 10.2.0.21:80`, with ` (established)` for a packet that is not new. */
export const describePacket = (p: Packet): string => `${p.protocol} ${p.src} -> ${p.dst}:${p.dport}${p.ct && p.ct !== 'new' ? ` (${p.ct})` : ''}`;
