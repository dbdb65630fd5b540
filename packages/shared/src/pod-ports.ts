import { PROTOCOLS, type Protocol } from './ruleset.js';

/** A container port a NetworkPolicy named port can resolve to. */
export type NamedPort = { readonly name: string; readonly protocol: Protocol; readonly port: number };

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : undefined);
const arr = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

/** spec: a port name is an IANA_SVC_NAME: 1-15 of a-z0-9 and '-', with a letter, no '--', not at the ends. */
export function isPortName(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

/**
 * The one Pod projection of named ports, used by the watcher (what it publishes) and the compiler (what it
 * resolves), so `knp compile --manifests` and the live pipeline resolve a named port the same way.
 *
 * The rule: a named port resolves from `spec.containers` and from restartable init containers (sidecars,
 * `restartPolicy: Always`), in that order; never from other init containers, which have exited before
 * the pod serves. This is Kubernetes' own named-port lookup (FindPort, which Services use for a named
 * targetPort) since sidecar containers. A port entry that is not a valid name with an integer port 1-65535
 * and TCP/UDP/SCTP (TCP when absent, as the API defaults it) resolves nothing.
 */
export function namedPorts(podSpec: unknown): NamedPort[] {
  const spec = obj(podSpec);
  const sidecars = arr(spec?.initContainers).filter((c) => obj(c)?.restartPolicy === 'Always');
  const out: NamedPort[] = [];
  for (const container of [...arr(spec?.containers), ...sidecars]) {
    for (const p of arr(obj(container)?.ports)) {
      const { name, containerPort, protocol = 'TCP' } = obj(p) ?? {};
      if (typeof name !== 'string' || !isPortName(name)) continue;
      if (typeof containerPort !== 'number' || !Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) continue;
      if (!PROTOCOLS.includes(protocol as Protocol)) continue;
      out.push({ name, protocol: protocol as Protocol, port: containerPort });
    }
  }
  return out;
}
