import type { Logger, RuleSet } from '@knp/shared';
import type { Backend, LoadReport } from '../backend.js';
import type { IptablesMode } from '../iptables-variant.js';
import { iptablesBackend } from './ipt-backend.js';
import { nftBackend } from './nft-backend.js';
import { KernelCommandError } from './run.js';

export type BackendKind = Backend['kind'];
export type BackendOptions = { readonly prefix: string; readonly netns?: string | undefined; readonly timeoutMs?: number; readonly log?: Logger; readonly mode?: IptablesMode };

/** The backend of a kind, in `netns` when named. */
export function backendOf(kind: BackendKind, options: BackendOptions): Backend {
  return kind === 'nftables' ? nftBackend(options) : iptablesBackend(options);
}

export const otherKind = (kind: BackendKind): BackendKind => (kind === 'nftables' ? 'iptables' : 'nftables');

/**
 * Removes what the backend not in force left on this node (KNP_BACKEND was switched). Call it only once
 * the backend in force has loaded a rule set: until then the old objects are what keeps isolated pods
 * isolated. Returns whether anything was there. A node without the other backend's tools holds nothing of it.
 */
export async function removeOtherBackend(inForce: BackendKind, options: BackendOptions): Promise<boolean> {
  const other = backendOf(otherKind(inForce), options);
  const present = await other.observe().then(
    (seen) => seen !== undefined,
    (err: unknown) => {
      if (err instanceof KernelCommandError && /^cannot run /.test(err.message)) return false;
      throw err;
    },
  );
  try {
    if (present) await other.remove();
  } finally {
    await other.close?.();
  }
  return present;
}

/**
 * Moves enforcement from `from` to `to` without an open moment: `to` loads the rule set while `from` still
 * enforces it (a packet must pass both, and both say the same), then `from`'s objects are removed.
 */
export async function switchBackend(from: Backend, to: Backend, ruleSet: RuleSet): Promise<LoadReport> {
  const report = await to.load(ruleSet, undefined);
  await from.remove();
  return report;
}
