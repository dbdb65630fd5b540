import { createHash } from 'node:crypto';

/** KNP_PREFIX: 1-8 of a-z0-9 starting with a letter, so `prefix-role-<14 hex>` fits iptables (28) and ipset (31). */
export function isValidPrefix(prefix: string): boolean {
  return /^[a-z][a-z0-9]{0,7}$/.test(prefix);
}

/** Kernel object roles: address set, ingress / egress chain, pod dispatch, base chain. */
export type KernelRole = 'as' | 'in' | 'eg' | 'pod' | 'fw';

/** A kernel object name computed from what it identifies: never a name taken from the API. */
export function kernelName(prefix: string, role: KernelRole, identity: string): string {
  return `${prefix}-${role}-${createHash('sha256').update(identity).digest('hex').slice(0, 14)}`;
}

/** A subject token for an API string: base64url has no '.', '*', '>' or whitespace. Empty strings get '_'. */
export function subjectToken(text: string): string {
  return text === '' ? '_' : Buffer.from(text, 'utf8').toString('base64url');
}

/** The API string a subject token stands for (the inverse of `subjectToken`). */
export function fromSubjectToken(token: string): string {
  return token === '_' ? '' : Buffer.from(token, 'base64url').toString('utf8');
}

/** The namespace token used for cluster-scoped kinds (base64url never produces '-' alone). */
export const CLUSTER_SCOPE_TOKEN = '-';

/** Every NATS and kernel name the product derives from KNP_PREFIX, in one place. */
export function names(prefix: string) {
  const upper = prefix.toUpperCase();
  return {
    eventsStream: `${upper}_EVENTS`,
    rulesStream: `${upper}_RULES`,
    statusBucket: `${upper}_status`,
    snapshotBucket: `${upper}_snapshots`,
    eventsSubjects: `${prefix}.ev.>`,
    rulesSubjects: `${prefix}.rules.*`,
    /** The content-addressed set store (issue 15): one message per `<prefix>.sets.<set id>.<content hash>`. */
    setsStream: `${upper}_SETS`,
    setsSubjects: `${prefix}.sets.*.*`,
    setSubject: (id: string, hash: string): string => `${prefix}.sets.${subjectToken(id)}.${hash}`,
    /** The content a set store subject holds (the inverse of `setSubject`); undefined for anything else (a chunk part included). */
    setOfSubject: (subject: string): { id: string; hash: string } | undefined => {
      const m = subject.startsWith(`${prefix}.sets.`) ? /^([^.]+)\.([0-9a-f]{64})$/.exec(subject.slice(prefix.length + 6)) : null;
      return m ? { id: fromSubjectToken(m[1]!), hash: m[2]! } : undefined;
    },
    /** `<prefix>.ev.<kind>.<namespace>.<name>`, tokens encoded; cluster-scoped kinds use a fixed namespace token. */
    eventSubject: (kind: string, namespace: string | undefined, name: string): string =>
      `${prefix}.ev.${kind.toLowerCase()}.${namespace === undefined ? CLUSTER_SCOPE_TOKEN : subjectToken(namespace)}.${subjectToken(name)}`,
    rulesSubject: (node: string): string => `${prefix}.rules.${subjectToken(node)}`,
    /** The node a rules subject is for; undefined for anything else (a chunk part `<subject>~<i>` included). */
    nodeOfRulesSubject: (subject: string): string | undefined => {
      const token = subject.startsWith(`${prefix}.rules.`) ? subject.slice(prefix.length + 7) : undefined;
      return token === undefined || token.includes('~') || token.includes('.') ? undefined : fromSubjectToken(token);
    },
    nftTable: prefix,
    iptablesChain: (role: KernelRole, identity: string): string => kernelName(prefix, role, identity).toUpperCase(),
  };
}
export type Names = ReturnType<typeof names>;
