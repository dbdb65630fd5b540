import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Probe, ProbeRequest, ProbeResponse } from './agent.js';
import { sh, shQuiet } from './sh.js';

/**
 * A routed test cluster in network namespaces: one namespace per
 * node and per pod, each pod's veth ending in its node with a /32 route (Calico-style), so every
 * pod-to-pod packet crosses the forward hook of the node(s) on its path. Every pod runs an agent
 * (test/netns/agent.ts) serving TCP/UDP echo on 80 and 81 and probing on request.
 * Names are unique per run; `destroy` (and, failing that, an exit handler or the next run's sweep)
 * removes everything.
 */
/** A pod: its name (any label, e.g. `ns/name`), IPv4 address, node, and the ports it serves on TCP and UDP (80 and 81 when not given). */
export type PodSpec = { readonly name: string; readonly ip: string; readonly node: string; readonly ports?: readonly number[] };
export type ClusterSpec = { readonly nodes: readonly string[]; readonly pods: readonly PodSpec[] };
export type ProbeProtocol = Probe['protocol'];
export type PairResult = { readonly from: string; readonly to: string; readonly allowed: boolean };

const RUNS_DIR = '/tmp/knp-netns-runs';
const LINK_IPS = ['172.31.255.1', '172.31.255.2'];
const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));
/** A stable MAC per role and index, so neighbour entries can be static. */
const mac = (kind: number, i: number): string => `02:00:00:${kind.toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

type PodHandle = PodSpec & { readonly netns: string; readonly agent: ChildProcess; readonly control: Socket };

export class NetnsCluster {
  private readonly pods = new Map<string, PodHandle>();
  private readonly pending = new Map<number, (r: ProbeResponse) => void>();
  private nextId = 1;
  private destroyed = false;
  private podCount = 0;
  private readonly onExit = (): void => this.destroySync();

  private constructor(readonly runId: string, private readonly nodeNs: ReadonlyMap<string, string>, private readonly namespaces: string[]) {
    process.on('exit', this.onExit);
  }

  /** Builds the topology and starts every pod's agent; on any failure removes what it made and rethrows. */
  static async create(spec: ClusterSpec): Promise<NetnsCluster> {
    if (spec.nodes.length < 1 || spec.nodes.length > 2) throw new Error('the fixture routes one or two nodes');
    sweepDeadRuns();
    const runId = randomBytes(3).toString('hex').slice(0, 5);
    const nodeNs = new Map(spec.nodes.map((node, i) => [node, `knpt${runId}-n${i}`]));
    const namespaces = [...nodeNs.values(), ...spec.pods.map((_, i) => `knpt${runId}-p${i}`)];
    mkdirSync(RUNS_DIR, { recursive: true });
    writeFileSync(join(RUNS_DIR, `${runId}.json`), JSON.stringify({ pid: process.pid, namespaces }));
    const cluster = new NetnsCluster(runId, nodeNs, namespaces);
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

  ipOf(pod: string): string {
    return this.pod(pod).ip;
  }

  /** Probes every ordered pair of distinct `pods` (default all) in parallel; self-pairs never cross a node. */
  async probeMatrix(opts: { port: number; protocol: ProbeProtocol; timeoutMs?: number; pods?: readonly string[] }): Promise<PairResult[]> {
    const pods = opts.pods ?? this.podNames;
    const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
    return this.probePairs(pairs.map((p) => ({ ...p, port: opts.port, protocol: opts.protocol })), opts.timeoutMs ?? 400);
  }

  /** Probes the given pairs in parallel, each from a fresh source port. */
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

  async probePairs(pairs: readonly { from: string; to: string; port: number; protocol: ProbeProtocol }[], timeoutMs: number): Promise<PairResult[]> {
    const bySource = new Map<string, { index: number; probe: Probe }[]>();
    pairs.forEach((pair, index) => {
      const list = bySource.get(pair.from) ?? [];
      list.push({ index, probe: { ip: this.pod(pair.to).ip, port: pair.port, protocol: pair.protocol, timeoutMs } });
      bySource.set(pair.from, list);
    });
    const results: boolean[] = new Array<boolean>(pairs.length).fill(false);
    await Promise.all(
      [...bySource].map(async ([from, list]) => {
        const answer = await this.request(from, list.map((l) => l.probe));
        list.forEach((l, i) => (results[l.index] = answer.results[i] === true));
      }),
    );
    return pairs.map((p, i) => ({ from: p.from, to: p.to, allowed: results[i]! }));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    for (const pod of this.pods.values()) {
      pod.control.destroy();
      pod.agent.kill('SIGKILL');
    }
    await Promise.all(this.namespaces.map((ns) => sh(['ip', 'netns', 'del', ns]).catch(() => undefined)));
    rmSync(join(RUNS_DIR, `${this.runId}.json`), { force: true });
    rmSync(this.socketDir, { recursive: true, force: true });
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const pod of this.pods.values()) pod.agent.kill('SIGKILL');
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

  private request(from: string, probes: Probe[]): Promise<ProbeResponse> {
    const id = this.nextId++;
    const request: ProbeRequest = { id, probes };
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.pod(from).control.write(`${JSON.stringify(request)}\n`);
    });
  }

  private async build(spec: ClusterSpec): Promise<void> {
    for (const ns of this.namespaces) await sh(['ip', 'netns', 'add', ns]);
    const nodes = [...this.nodeNs.entries()];
    await Promise.all(nodes.map(([, ns]) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'])));
    const batches = new Map<string, string[]>(this.namespaces.map((ns) => [ns, ['link set lo up']]));
    const add = (ns: string, ...lines: string[]): void => void batches.get(ns)!.push(...lines);
    if (nodes.length === 2) {
      const [[, a], [, b]] = nodes as [[string, string], [string, string]];
      const [la, lb] = [`k${this.runId}l0`, `k${this.runId}l1`];
      await sh(['ip', '-n', a, 'link', 'add', la, 'address', mac(9, 0), 'type', 'veth', 'peer', 'name', lb, 'address', mac(9, 1), 'netns', b]);
      add(a, `addr add ${LINK_IPS[0]}/30 dev ${la}`, `link set ${la} up`, `neigh replace ${LINK_IPS[1]} lladdr ${mac(9, 1)} dev ${la} nud permanent`);
      add(b, `addr add ${LINK_IPS[1]}/30 dev ${lb}`, `link set ${lb} up`, `neigh replace ${LINK_IPS[0]} lladdr ${mac(9, 0)} dev ${lb} nud permanent`);
    }
    const sysctls = new Map<string, string[]>();
    for (const [i, pod] of spec.pods.entries()) await this.plumbPod(pod, i, add, sysctls);
    await Promise.all([...batches].map(([ns, lines]) => sh(['ip', '-n', ns, '-b', '-'], `${lines.join('\n')}\n`)));
    await Promise.all([...sysctls].map(([ns, keys]) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...keys])));
    mkdirSync(this.socketDir, { recursive: true });
    const handles = await Promise.all(spec.pods.map((pod, i) => this.startAgent(pod, `knpt${this.runId}-p${i}`, i)));
    for (const h of handles) this.pods.set(h.name, h);
    this.podCount = spec.pods.length;
  }

  /** Adds a pod to the running cluster (its namespace, veth, routes on both nodes, agent), as a new pod scheduled on `node`. */
  async addPod(pod: PodSpec): Promise<void> {
    if (this.pods.has(pod.name)) throw new Error(`pod ${pod.name} exists`);
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
    this.pods.set(pod.name, await this.startAgent(pod, podNs, i));
  }

  /** One pod's veth into its node, its addresses and routes (on its node and on the other), as `ip -b` lines. */
  private async plumbPod(pod: PodSpec, i: number, add: (ns: string, ...lines: string[]) => void, sysctls: Map<string, string[]>): Promise<void> {
    const nodes = [...this.nodeNs.entries()];
    const nodeIndex = new Map(nodes.map(([node], n) => [node, n]));
    const node = this.netnsOf(pod.node), podNs = `knpt${this.runId}-p${i}`, veth = `k${this.runId}p${i}`;
    await sh(['ip', '-n', node, 'link', 'add', veth, 'address', mac(1, i), 'type', 'veth', 'peer', 'name', 'eth0', 'address', mac(2, i), 'netns', podNs]);
    add(podNs, `addr add ${pod.ip}/32 dev eth0`, 'link set eth0 up', 'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0 onlink', `neigh replace 169.254.1.1 lladdr ${mac(1, i)} dev eth0 nud permanent`);
    add(node, `link set ${veth} up`, `route add ${pod.ip}/32 dev ${veth} scope link`, `neigh replace ${pod.ip} lladdr ${mac(2, i)} dev ${veth} nud permanent`);
    sysctls.set(node, [...(sysctls.get(node) ?? []), `net.ipv4.conf.${veth}.proxy_arp=1`]);
    for (const [other, otherNs] of nodes)
      if (other !== pod.node) add(otherNs, `route add ${pod.ip}/32 via ${LINK_IPS[nodeIndex.get(pod.node)!]}`);
  }

  private async startAgent(pod: PodSpec, netns: string, i: number): Promise<PodHandle> {
    const socketPath = join(this.socketDir, `p${i}.sock`);
    const agent = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT, socketPath, String(randomInt(20_000, 40_000)), (pod.ports ?? [80, 81]).join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      agent.stdout!.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        if (out.includes('ready\n')) resolve();
      });
      agent.on('exit', (code) => reject(new Error(`agent of ${pod.name} exited with ${code}`)));
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
    return { ...pod, netns, agent, control };
  }
}

/** Removes namespaces left by runs whose process is gone (a crash or SIGKILL skips every handler). */
function sweepDeadRuns(): void {
  let files: string[] = [];
  try {
    files = readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const file of files) {
    try {
      const { pid, namespaces } = JSON.parse(readFileSync(join(RUNS_DIR, file), 'utf8')) as { pid: number; namespaces: string[] };
      if (isAlive(pid)) continue;
      for (const ns of namespaces) shQuiet(['ip', 'netns', 'del', ns]);
      rmSync(join(RUNS_DIR, file), { force: true });
      rmSync(join(RUNS_DIR, file.replace(/\.json$/, '')), { recursive: true, force: true });
    } catch {
      // a half-written record: leave it for a later sweep
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
