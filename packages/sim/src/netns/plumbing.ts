/**
 * The address plan and the `ip -b` lines of the netns cluster, as pure functions: which lines go into
 * which namespace for the node link, a node's own address and a pod. The cluster runs them; nothing here
 * touches the kernel. IPv6 addresses are added with `nodad`: duplicate address detection would keep
 * them tentative (unusable as a source or route `src`) for about a second.
 */

/** The two ends of the node link: IPv4 /30 and, in dual-stack, IPv6 /126. */
export const LINK_IPS = ['172.31.255.1', '172.31.255.2'] as const;
export const LINK_IP6S = ['fd00:ffff:255::1', 'fd00:ffff:255::2'] as const;
/** The next hop every pod routes to: link-local, answered by a static neighbour entry (no ARP or NDP). */
export const POD_GATEWAY = '169.254.1.1';
export const POD_GATEWAY6 = 'fe80::1';
/** The device in a node namespace that holds the node's own addresses: the loopback (the test kernels have no `dummy` driver). */
export const NODE_DEVICE = 'lo';

/** A node's own addresses, by its index in the cluster: IPv4 first, then IPv6 in dual-stack. */
export function nodeAddresses(index: number, dualStack: boolean): string[] {
  return dualStack ? [`172.31.254.${index + 1}`, `fd00:ffff:254::${index + 1}`] : [`172.31.254.${index + 1}`];
}

/** A stable MAC per role and index, so neighbour entries can be static. */
export const mac = (kind: number, i: number): string =>
  `02:00:00:${kind.toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

/** Lines for one end (`self` 0 or 1) of the node link on device `dev`, whose peer has MAC `peerMac`. */
export function linkLines(self: 0 | 1, dev: string, peerMac: string, dualStack: boolean): string[] {
  const peer = 1 - self;
  const lines = [`addr add ${LINK_IPS[self]}/30 dev ${dev}`, `link set ${dev} up`, `neigh replace ${LINK_IPS[peer]} lladdr ${peerMac} dev ${dev} nud permanent`];
  if (dualStack) lines.push(`addr add ${LINK_IP6S[self]}/126 dev ${dev} nodad`, `neigh replace ${LINK_IP6S[peer]} lladdr ${peerMac} dev ${dev} nud permanent`);
  return lines;
}

/** Lines giving a node its own addresses on its loopback (before any route naming them as `src`). */
export function nodeAddressLines(addresses: readonly string[]): string[] {
  return [...addresses.map((a) => `addr add ${a}/${a.includes(':') ? '128 nodad' : '32'} dev ${NODE_DEVICE}`)];
}

/** Routes in the other node's namespace to node `index`'s own addresses, over the link. */
export function remoteNodeRouteLines(index: number, addresses: readonly string[], src: readonly string[]): string[] {
  return addresses.map((a) => routeVia(a, index, src));
}

export type PodPlumbing = {
  readonly ip: string;
  readonly ip6?: string | undefined;
  /** The pod's device in its node (the far end is `eth0` in the pod) and the MACs of both ends. */
  readonly veth: string;
  readonly nodeMac: string;
  readonly podMac: string;
};

/** Lines in the pod's own namespace: its addresses on eth0 and a default route per family via the gateway. */
export function podLines(p: PodPlumbing): string[] {
  const lines = [`addr add ${p.ip}/32 dev eth0`, 'link set eth0 up', `route add ${POD_GATEWAY} dev eth0 scope link`,
    `route add default via ${POD_GATEWAY} dev eth0 onlink`, `neigh replace ${POD_GATEWAY} lladdr ${p.nodeMac} dev eth0 nud permanent`];
  if (p.ip6) lines.push(`addr add ${p.ip6}/128 dev eth0 nodad`, `route add ::/0 via ${POD_GATEWAY6} dev eth0`, `neigh replace ${POD_GATEWAY6} lladdr ${p.nodeMac} dev eth0 nud permanent`);
  return lines;
}

/**
 * Lines in the pod's node: the veth up, a host route per address to it, static neighbours. `src` (the
 * node's own addresses, when it has them) makes the node's own traffic to the pod come from them.
 */
export function podNodeLines(p: PodPlumbing, src: readonly string[]): string[] {
  const lines = [`link set ${p.veth} up`, `route add ${p.ip}/32 dev ${p.veth} scope link${srcOf(p.ip, src)}`, `neigh replace ${p.ip} lladdr ${p.podMac} dev ${p.veth} nud permanent`];
  if (p.ip6) lines.push(`route add ${p.ip6}/128 dev ${p.veth}${srcOf(p.ip6, src)}`, `neigh replace ${p.ip6} lladdr ${p.podMac} dev ${p.veth} nud permanent`);
  return lines;
}

/** Lines in the other node: the pod's addresses routed over the link to node `podNodeIndex`. */
export function podRemoteLines(p: PodPlumbing, podNodeIndex: number, src: readonly string[]): string[] {
  return [p.ip, ...(p.ip6 ? [p.ip6] : [])].map((a) => routeVia(a, podNodeIndex, src));
}

function routeVia(address: string, nodeIndex: number, src: readonly string[]): string {
  const v6 = address.includes(':');
  return `route add ${address}/${v6 ? 128 : 32} via ${(v6 ? LINK_IP6S : LINK_IPS)[nodeIndex]}${srcOf(address, src)}`;
}

/** ` src <address of the same family>`, or nothing. */
function srcOf(address: string, src: readonly string[]): string {
  const same = src.find((s) => s.includes(':') === address.includes(':'));
  return same ? ` src ${same}` : '';
}
