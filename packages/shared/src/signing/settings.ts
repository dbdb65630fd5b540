import { textVariable } from '../config.js';
import { KeyError, loadSigningKey, loadTrustedKeys, type SigningKey } from './keys.js';
import type { Trust } from './trust.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Who signs and whom a process trusts:
 * - KNP_SIGNING_KEY: this process's private key file (the watcher signs events, a compiler rule sets and
 *   snapshots);
 * - KNP_TRUSTED_WATCHER_KEYS: public key files or folders (comma-separated) whose events compilers fold;
 * - KNP_TRUSTED_COMPILER_KEYS: the same for rule sets and snapshots (appliers, compilers, operator commands).
 * A trust list left unset means `unsigned` (nothing checked; the service warns at start and in status).
 */
export type SigningSettings = {
  readonly signer: SigningKey | undefined;
  readonly watchers: Trust;
  readonly compilers: Trust;
};

/** Reads the three variables; a key file that cannot be read or parsed is a problem naming the variable. */
export function readSigningSettings(env: Env, problems: string[]): SigningSettings {
  const guarded = <T>(name: string, read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof KeyError)) throw err;
      problems.push(`${name}: ${err.message}`);
      return undefined;
    }
  };
  const trust = (name: string): Trust => {
    const text = textVariable(env, name);
    if (text === undefined) return { mode: 'unsigned' };
    const keys = guarded(name, () => loadTrustedKeys(text.split(',').map((p) => p.trim()).filter(Boolean)));
    if (keys !== undefined && keys.size === 0) problems.push(`${name}: ${JSON.stringify(text)} holds no public key`);
    return { mode: 'signed', keys: keys ?? new Map() };
  };
  const keyPath = textVariable(env, 'KNP_SIGNING_KEY');
  return {
    signer: keyPath === undefined ? undefined : guarded('KNP_SIGNING_KEY', () => loadSigningKey(keyPath)),
    watchers: trust('KNP_TRUSTED_WATCHER_KEYS'),
    compilers: trust('KNP_TRUSTED_COMPILER_KEYS'),
  };
}
