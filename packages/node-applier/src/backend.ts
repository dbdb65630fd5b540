import type { RuleSet } from '@knp/shared';

/** How a backend made the kernel match a rule set: the whole table, or only set members. */
export type LoadMode = 'full' | 'delta';
/** `kernelMs`: time spent in the kernel transaction alone (rendering excluded). */
export type LoadReport = { readonly mode: LoadMode; readonly scriptBytes: number; readonly kernelMs: number };

/** How many kernel objects a rule set becomes on a backend: rules in our chains, elements in our sets. */
export type KernelObjects = { readonly rules: number; readonly elements: number };

/**
 * A dataplane the applier drives (nftables, or iptables + ipset). Every method touches only
 * the objects the backend owns (its table, or its chains entered by a jump) and each `load` is one kernel
 * transaction, so a rejected load leaves the previous rules in force.
 */
export interface Backend {
  readonly kind: 'nftables' | 'iptables';
  /**
   * Makes the kernel enforce `next`. `prev` is what this backend last loaded and the kernel still holds
   * (checked by the caller), which lets it send only a smaller change; undefined forces a full load.
   */
  load(next: RuleSet, prev: RuleSet | undefined): Promise<LoadReport>;
  /** Validates `next` against the kernel without changing anything. */
  check(next: RuleSet): Promise<void>;
  /** A digest of the backend's kernel objects as the kernel lists them; undefined when they are absent. */
  observe(): Promise<string | undefined>;
  /** Removes every kernel object the backend owns. */
  remove(): Promise<void>;
  /** Ends the backend's long-lived kernel clients (the nft session), if any; the rules stay in force. */
  close?(): Promise<void>;
  /** What `ruleSet` becomes in the kernel, counted from its plan (for the metrics; optional for test backends). */
  objects?(ruleSet: RuleSet): KernelObjects | undefined;
}
