import { ConfigError, assertNever, textVariable, type Logger } from '@knp/shared';
import type { Backend } from '../backend.js';
import { IPTABLES_MODES, type IptablesMode } from '../iptables-variant.js';
import { iptablesBackend } from './ipt-backend.js';
import { nftBackend } from './nft-backend.js';

/** Which kernel backend enforces the rules, and where: what the applier and `knp replay --apply` share. */
export type KernelSettings = {
  /** KNP_BACKEND: nftables (default) or iptables. */
  readonly backend: Backend['kind'];
  /** KNP_NETNS: run the kernel commands in this network namespace (tests, demo); unset = the current one. */
  readonly netns: string | undefined;
  /** KNP_IPTABLES_MODE (iptables backend only): auto (default: the variant the node already uses), nft or legacy. */
  readonly iptablesMode: IptablesMode;
};

export const DEFAULT_KERNEL_SETTINGS: KernelSettings = { backend: 'nftables', netns: undefined, iptablesMode: 'auto' };

/** Reads KNP_BACKEND, KNP_NETNS and KNP_IPTABLES_MODE, recording a bad value in `problems` (so a caller lists it with its own). */
export function readKernelSettings(env: Readonly<Record<string, string | undefined>>, problems: string[]): KernelSettings {
  const backend = textVariable(env, 'KNP_BACKEND') ?? DEFAULT_KERNEL_SETTINGS.backend;
  if (backend !== 'nftables' && backend !== 'iptables') problems.push(`KNP_BACKEND: ${JSON.stringify(backend)} is not nftables|iptables`);
  const netns = textVariable(env, 'KNP_NETNS');
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) problems.push(`KNP_NETNS: ${JSON.stringify(netns)} is not a network namespace name`);
  const mode = textVariable(env, 'KNP_IPTABLES_MODE') ?? DEFAULT_KERNEL_SETTINGS.iptablesMode;
  const iptablesMode = IPTABLES_MODES.find((m) => m === mode);
  if (iptablesMode === undefined) problems.push(`KNP_IPTABLES_MODE: ${JSON.stringify(mode)} is not auto|nft|legacy`);
  return { backend: backend === 'iptables' ? 'iptables' : 'nftables', netns, iptablesMode: iptablesMode ?? DEFAULT_KERNEL_SETTINGS.iptablesMode };
}

/** KNP_BACKEND, KNP_NETNS and KNP_IPTABLES_MODE alone; throws `ConfigError` listing every problem. */
export function loadKernelSettings(env: Readonly<Record<string, string | undefined>>): KernelSettings {
  const problems: string[] = [];
  const settings = readKernelSettings(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** The backend `kernel.backend` names, its kernel objects under `prefix`, its commands run in `kernel.netns` when set. */
export function createBackend(kernel: KernelSettings, prefix: string, log: Logger): Backend {
  const options = { prefix, netns: kernel.netns };
  switch (kernel.backend) {
    case 'nftables':
      return nftBackend(options);
    case 'iptables':
      return iptablesBackend({ ...options, mode: kernel.iptablesMode, log });
    default:
      return assertNever(kernel.backend);
  }
}
