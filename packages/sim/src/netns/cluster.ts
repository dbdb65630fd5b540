import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Probe, ProbeRequest, ProbeResponse } from './agent.js';
import { linkLines, mac, nodeAddresses, nodeAddressLines, podLines, podNodeLines, podRemoteLines, remoteNodeRouteLines, type PodPlumbing } from './plumbing.js';
import { RUNS_DIR, reserveRun, sweepDeadRuns } from './runs.js';
import { sh, shQuiet } from './sh.js';

/**
 * A routed test cluster in network namespaces: one namespace per
 * node and per pod, each pod's veth ending in its node with a /32 route (Calico-style), so every
 * pod-to-pod packet crosses the forward hook of the node(s) on its path. Every pod runs an agent
 * (agent.ts) serving TCP/UDP echo on 80 and 81 and probing on request.
 * `dualStack` adds IPv6 (pods with an `ip6`, node link, forwarding); `nodeListeners` gives every node its
 * own addresses on its loopback with an agent serving them (destinations that are not pods).
 * Names are unique per run (a run id reserved by an exclusive file create, so two processes never share
 * one); `destroy` (and, failing that, an exit handler or the next run's sweep) removes everything.
 */
/**
 * A pod: its name (any label, e.g. `ns/name`), IPv4 address, optional IPv6 address (dual-stack clusters
 * only), node, and the ports it serves on TCP and UDP (80 and 81 when not given).
 */
export type PodSpec = { readonly name: string; readonly ip: string; readonly ip6?: string; readonly node: string; readonly ports?: readonly number[] };
export type ClusterSpec = {
  readonly nodes: readonly string[];
  readonly pods: readonly PodSpec[];
  /** IPv6 next to IPv4: node link, forwarding, pods' `ip6`, agents serving both families. Default IPv4 only. */
  readonly dualStack?: boolean;
  /** Each node gets its own addresses (`nodeIps`) and an agent in its namespace serving `ports` (default 80) on them. */
  readonly nodeListeners?: { readonly ports?: readonly number[] };
};
export type ProbeProtocol = Probe['protocol'];
export type PairResult = { readonly from: string; readonly to: string; readonly allowed: boolean };
export type Family = 4 | 6;
/** Where a probe starts: a pod by name, or a node's own namespace (needs `nodeListeners`). */
export type Endpoint = string | { readonly node: string };
/** A probe to an address (a pod's, a node's, or any other) rather than to a pod by name. */
export type AddressProbe = { readonly from: Endpoint; readonly ip: string; readonly port: number; readonly protocol: ProbeProtocol };

const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));

type AgentHandle = { readonly netns: string; readonly agent: ChildProcess; readonly control: Socket };
type PodHandle = PodSpec & AgentHandle;

export class NetnsCluster {
  private readonly pods = new Map<string, PodHandle>();
  private readonly nodeAgents = new Map<string, AgentHandle>();
  private readonly pending = new Map<number, (r: ProbeResponse) => void>();
  private nextId = 1;
  private destroyed = false;
  private podCount = 0;
  private readonly onExit = (): void => this.destroySync();

  private constructor(
    readonly runId: string,
    private readonly nodeNs: ReadonlyMap<string, string>,
    private readonly namespaces: string[],
    private readonly spec: ClusterSpec,
  ) {
    process.on('exit', this.onExit);
  }

  /** Builds the topology and starts every pod's agent; on any failure removes what it made and rethrows. */
  static async create(spec: ClusterSpec): Promise<NetnsCluster> {
    if (spec.nodes.length < 1 || spec.nodes.length > 2) throw new Error('the fixture routes one or two nodes');
    const ip6Pod = spec.pods.find((p) => p.ip6 !== undefined);
    if (ip6Pod && !spec.dualStack) throw new Error(`pod ${ip6Pod.name} has an ip6 but the cluster is not dualStack`);
    sweepDeadRuns();
    const { runId, namespaces } = reserveRun(spec.nodes.length, spec.pods.length);
    const nodeNs = new Map(spec.nodes.map((node, i) => [node, namespaces[i]!]));
    const cluster = new NetnsCluster(runId, nodeNs, namespaces, spec);
    try {
      await cluster.build(spec);
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  /** The network namespace of a node, where its applier loads rules. */
  netnsOf(node: string): string {
    const ns = this.nodeNs.get(node);
    if (!ns) throw new Error(`no node ${node} in this cluster`);
    return ns;
  }

  get podNames(): string[] {
    return [...this.pods.keys()].sort();
  }

  /** A pod's address of `family` (IPv4 by default). */
  ipOf(pod: string, family: Family = 4): string {
    const p = this.pod(pod);
    if (family === 4) return p.ip;
    if (p.ip6 === undefined) throw new Error(`pod ${pod} has no IPv6 address`);
    return p.ip6;
  }

  /** A node's own addresses (IPv4, then IPv6 in dual-stack), served by its node agent; for a Node's status.addresses. */
  nodeIps(node: string): readonly string[] {
    if (!this.spec.nodeListeners) throw new Error('the cluster has no node addresses: create it with nodeListeners');
    return nodeAddresses(this.nodeIndex(node), this.spec.dualStack === true);
  }

  /** Probes every ordered pair of distinct `pods` (default all) in parallel; self-pairs never cross a node. */
  async probeMatrix(opts: { port: number; protocol: ProbeProtocol; timeoutMs?: number; pods?: readonly string[]; family?: Family }): Promise<PairResult[]> {
    const pods = opts.pods ?? this.podNames;
    const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
    return this.probePairs(pairs.map((p) => ({ ...p, port: opts.port, protocol: opts.protocol, family: opts.family })), opts.timeoutMs ?? 400);
  }

  /**
   * Whether `from` reaches `to` on TCP `port`; a failed first probe is retried with a long timeout before
   * "denied", so a loaded machine never turns an allowed pair into a denied one.
   */
  async reaches(from: string, to: string, port = 80): Promise<boolean> {
    const [first] = await this.probePairs([{ from, to, port, protocol: 'TCP' }], 400);
    if (first!.allowed) return true;
    const [again] = await this.probePairs([{ from, to, port, protocol: 'TCP' }], 1_500);
    return again!.allowed;
  }

  /** Probes the given pairs in parallel (to the target's IPv4 address unless `family` is 6), each from a fresh source port. */
  async probePairs(pairs: readonly { from: string; to: string; port: number; protocol: ProbeProtocol; family?: Family | undefined }[], timeoutMs: number): Promise<PairResult[]> {
    const results = await this.probeAddresses(pairs.map((p) => ({ from: p.from, ip: this.ipOf(p.to, p.family), port: p.port, protocol: p.protocol })), timeoutMs);
    return pairs.map((p, i) => ({ from: p.from, to: p.to, allowed: results[i]! }));
  }

  /** Probes addresses (IPv4 or IPv6) in parallel from pods or nodes, each from a fresh source port; true where answered. */
  async probeAddresses(probes: readonly AddressProbe[], timeoutMs: number): Promise<boolean[]> {
    const bySource = new Map<AgentHandle, { index: number; probe: Probe }[]>();
    probes.forEach((p, index) => {
      const agent = this.agentOf(p.from);
      const list = bySource.get(agent) ?? [];
      list.push({ index, probe: { ip: p.ip, port: p.port, protocol: p.protocol, timeoutMs } });
      bySource.set(agent, list);
    });
    const results: boolean[] = new Array<boolean>(probes.length).fill(false);
    await Promise.all(
      [...bySource].map(async ([agent, list]) => {
        const answer = await this.request(agent, list.map((l) => l.probe));
        list.forEach((l, i) => (results[l.index] = answer.results[i] === true));
      }),
    );
    return results;
  }

  /** Whether `from` reaches address `ip`; a failed first probe is retried with a long timeout, as in `reaches`. */
  async reachesIp(from: Endpoint, ip: string, port = 80, protocol: ProbeProtocol = 'TCP'): Promise<boolean> {
    const [first] = await this.probeAddresses([{ from, ip, port, protocol }], 400);
    if (first) return true;
    const [again] = await this.probeAddresses([{ from, ip, port, protocol }], 1_500);
    return again === true;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    for (const handle of this.agents()) {
      handle.control.destroy();
      handle.agent.kill('SIGKILL');
    }
    await Promise.all(this.namespaces.map((ns) => sh(['ip', 'netns', 'del', ns]).catch(() => undefined)));
    rmSync(join(RUNS_DIR, `${this.runId}.json`), { force: true });
    rmSync(this.socketDir, { recursive: true, force: true });
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const handle of this.agents()) handle.agent.kill('SIGKILL');
    for (const ns of this.namespaces) shQuiet(['ip', 'netns', 'del', ns]);
    rmSync(join(RUNS_DIR, `${this.runId}.json`), { force: true });
    rmSync(this.socketDir, { recursive: true, force: true });
  }

  private get socketDir(): string {
    return join(RUNS_DIR, this.runId);
  }

  private pod(name: string): PodHandle {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod ${name} in this cluster`);
    return pod;
  }

  private agents(): AgentHandle[] {
    return [...this.pods.values(), ...this.nodeAgents.values()];
  }

  private agentOf(from: Endpoint): AgentHandle {
    if (typeof from === 'string') return this.pod(from);
    const agent = this.nodeAgents.get(from.node);
    if (!agent) throw new Error(`no agent on node ${from.node}: create the cluster with nodeListeners`);
    return agent;
  }

  private nodeIndex(node: string): number {
    const i = this.spec.nodes.indexOf(node);
    if (i < 0) throw new Error(`no node ${node} in this cluster`);
    return i;
  }

  /** The node addresses routes use as `src`: the node's own traffic to pods comes from them (none without node listeners). */
  private srcOf(nodeIndex: number): string[] {
    return this.spec.nodeListeners ? nodeAddresses(nodeIndex, this.spec.dualStack === true) : [];
  }

  private request(agent: AgentHandle, probes: Probe[]): Promise<ProbeResponse> {
    const id = this.nextId++;
    const request: ProbeRequest = { id, probes };
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      agent.control.write(`${JSON.stringify(request)}\n`);
    });
  }

  private async build(spec: ClusterSpec): Promise<void> {
    for (const ns of this.namespaces) await sh(['ip', 'netns', 'add', ns]);
    const nodes = [...this.nodeNs.entries()];
    const forwarding = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', ...(spec.dualStack ? ['net.ipv6.conf.all.forwarding=1'] : [])];
    await Promise.all(nodes.map(([, ns]) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...forwarding])));
    const batches = new Map<string, string[]>(this.namespaces.map((ns) => [ns, ['link set lo up']]));
    const add = (ns: string, ...lines: string[]): void => void batches.get(ns)!.push(...lines);
    if (nodes.length === 2) {
      const [[, a], [, b]] = nodes as [[string, string], [string, string]];
      const [la, lb] = [`k${this.runId}l0`, `k${this.runId}l1`];
      await sh(['ip', '-n', a, 'link', 'add', la, 'address', mac(9, 0), 'type', 'veth', 'peer', 'name', lb, 'address', mac(9, 1), 'netns', b]);
      add(a, ...linkLines(0, la, mac(9, 1), spec.dualStack === true));
      add(b, ...linkLines(1, lb, mac(9, 0), spec.dualStack === true));
    }
    // Node addresses come before the pods' routes, which name them as `src`.
    if (spec.nodeListeners) {
      for (const [n, [, ns]] of nodes.entries()) add(ns, ...nodeAddressLines(this.srcOf(n)));
      for (const [n] of nodes.entries())
        for (const [m, [, other]] of nodes.entries()) if (m !== n) add(other, ...remoteNodeRouteLines(n, this.srcOf(n), this.srcOf(m)));
    }
    const sysctls = new Map<string, string[]>();
    for (const [i, pod] of spec.pods.entries()) await this.plumbPod(pod, i, add, sysctls);
    await Promise.all([...batches].map(([ns, lines]) => sh(['ip', '-n', ns, '-b', '-'], `${lines.join('\n')}\n`)));
    await Promise.all([...sysctls].map(([ns, keys]) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...keys])));
    mkdirSync(this.socketDir, { recursive: true });
    const ports = spec.nodeListeners?.ports ?? [80];
    const [handles, nodeHandles] = await Promise.all([
      Promise.all(spec.pods.map(async (pod, i) => ({ ...pod, ...(await this.startAgent(pod.name, `knpt${this.runId}-p${i}`, `p${i}`, pod.ports ?? [80, 81], pod.ip6 ? ['0.0.0.0', '::'] : ['0.0.0.0'])) }))),
      spec.nodeListeners ? Promise.all(nodes.map(async ([node, ns], n) => [node, await this.startAgent(`node ${node}`, ns, `n${n}`, ports, this.srcOf(n))] as const)) : [],
    ]);
    for (const h of handles) this.pods.set(h.name, h);
    for (const [node, h] of nodeHandles) this.nodeAgents.set(node, h);
    this.podCount = spec.pods.length;
  }

  /** Adds a pod to the running cluster (its namespace, veth, routes on both nodes, agent), as a new pod scheduled on `node`. */
  async addPod(pod: PodSpec): Promise<void> {
    if (this.pods.has(pod.name)) throw new Error(`pod ${pod.name} exists`);
    if (pod.ip6 !== undefined && !this.spec.dualStack) throw new Error(`pod ${pod.name} has an ip6 but the cluster is not dualStack`);
    const i = this.podCount++;
    const podNs = `knpt${this.runId}-p${i}`;
    this.namespaces.push(podNs);
    writeFileSync(join(RUNS_DIR, `${this.runId}.json`), JSON.stringify({ pid: process.pid, namespaces: this.namespaces }));
    await sh(['ip', 'netns', 'add', podNs]);
    const batches = new Map<string, string[]>();
    const add = (ns: string, ...lines: string[]): void => void (batches.get(ns) ?? batches.set(ns, []).get(ns)!).push(...lines);
    add(podNs, 'link set lo up');
    const sysctls = new Map<string, string[]>();
    await this.plumbPod(pod, i, add, sysctls);
    await Promise.all([...batches].map(([ns, lines]) => sh(['ip', '-n', ns, '-b', '-'], `${lines.join('\n')}\n`)));
    await Promise.all([...sysctls].map(([ns, keys]) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...keys])));
    this.pods.set(pod.name, { ...pod, ...(await this.startAgent(pod.name, podNs, `p${i}`, pod.ports ?? [80, 81], pod.ip6 ? ['0.0.0.0', '::'] : ['0.0.0.0'])) });
  }

  /** One pod's veth into its node, its addresses and routes (on its node and on the other), as `ip -b` lines. */
  private async plumbPod(pod: PodSpec, i: number, add: (ns: string, ...lines: string[]) => void, sysctls: Map<string, string[]>): Promise<void> {
    const node = this.netnsOf(pod.node), podNs = `knpt${this.runId}-p${i}`, n = this.nodeIndex(pod.node);
    const p: PodPlumbing = { ip: pod.ip, ip6: pod.ip6, veth: `k${this.runId}p${i}`, nodeMac: mac(1, i), podMac: mac(2, i) };
    await sh(['ip', '-n', node, 'link', 'add', p.veth, 'address', p.nodeMac, 'type', 'veth', 'peer', 'name', 'eth0', 'address', p.podMac, 'netns', podNs]);
    add(podNs, ...podLines(p));
    add(node, ...podNodeLines(p, this.srcOf(n)));
    sysctls.set(node, [...(sysctls.get(node) ?? []), `net.ipv4.conf.${p.veth}.proxy_arp=1`]);
    for (const [m, [other, otherNs]] of [...this.nodeNs.entries()].entries())
      if (other !== pod.node) add(otherNs, ...podRemoteLines(p, n, this.srcOf(m)));
  }

  /** Starts an agent in `netns` serving `ports` on `binds`, with its control socket `<key>.sock`; `label` names it in errors. */
  private async startAgent(label: string, netns: string, key: string, ports: readonly number[], binds: readonly string[]): Promise<AgentHandle> {
    const socketPath = join(this.socketDir, `${key}.sock`);
    const agent = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT, socketPath, String(randomInt(20_000, 40_000)), ports.join(','), binds.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      agent.stdout!.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        if (out.includes('ready\n')) resolve();
      });
      agent.on('exit', (code) => reject(new Error(`agent of ${label} exited with ${code}`)));
    });
    const control = connect(socketPath);
    await new Promise<void>((resolve, reject) => control.once('connect', resolve).once('error', reject));
    let buffer = '';
    control.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const response = JSON.parse(buffer.slice(0, nl)) as ProbeResponse;
        buffer = buffer.slice(nl + 1);
        this.pending.get(response.id)?.(response);
        this.pending.delete(response.id);
      }
    });
    return { netns, agent, control };
  }
}
