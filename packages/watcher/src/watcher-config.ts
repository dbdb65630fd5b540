import { ConfigError, intVariables, readSigningSettings, textVariable, type SigningKey } from '@knp/shared';
import { DEFAULT_LEASE_SETTINGS, type LeaseSettings } from './lease-keeper.js';
import { DEFAULT_MAX_QUEUE } from './backpressure.js';
import { DEFAULT_LIST_PAGE_SIZE } from './informers.js';

export type WatcherSettings = {
  readonly heartbeatMs: number;
  /** KUBECONFIG: the kubeconfig file to reach the API with; unset = the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** KNP_SIGNING_KEY: the private key events are signed with; unset = unsigned (a warning at start and in status). */
  readonly signer: SigningKey | undefined;
  /** The Lease one active watcher holds (KNP_LEASE_NAMESPACE, KNP_LEASE_NAME, KNP_LEASE_DURATION_S, KNP_LEASE_RENEW_S). */
  readonly lease: LeaseSettings;
  /** KNP_WATCHER_MAX_QUEUE: events waiting for the stream above which the informers are stopped until it drains. */
  readonly maxQueue: number;
  /** KNP_LIST_PAGE_SIZE: items per list page (limit/continue). */
  readonly listPageSize: number;
};

/** A Kubernetes object name (DNS-1123 subdomain). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The watcher's own variables (the shared ones come from `loadConfig`): KNP_HEARTBEAT_S, KUBECONFIG,
 * KNP_SIGNING_KEY, the lease (KNP_LEASE_NAMESPACE, KNP_LEASE_NAME, KNP_LEASE_DURATION_S, KNP_LEASE_RENEW_S) and
 * KNP_WATCHER_MAX_QUEUE, KNP_LIST_PAGE_SIZE. The stream sizing (KNP_STREAM_REPLICAS, KNP_EVENTS_MAX_AGE_S,
 * KNP_EVENTS_MAX_BYTES) is `knp init`'s.
 */
export function loadWatcherSettings(env: Readonly<Record<string, string | undefined>>): WatcherSettings {
  const problems: string[] = [];
  const int = intVariables(env, problems);
  const heartbeatS = int('KNP_HEARTBEAT_S', 10, 1, 3_600);
  const { signer } = readSigningSettings(env, problems);
  const durationS = int('KNP_LEASE_DURATION_S', DEFAULT_LEASE_SETTINGS.durationS, 2, 3_600);
  const renewS = int('KNP_LEASE_RENEW_S', DEFAULT_LEASE_SETTINGS.renewS, 1, 3_600);
  // the holder must be able to renew a few times before its deadline (two thirds of the duration)
  if (renewS * 3 >= durationS * 2) problems.push(`KNP_LEASE_RENEW_S: ${renewS} must be less than two thirds of KNP_LEASE_DURATION_S (${durationS})`);
  const name = (variable: string, fallback: string): string => {
    const text = textVariable(env, variable) ?? fallback;
    if (!K8S_NAME.test(text)) problems.push(`${variable}: ${JSON.stringify(text)} is not a Kubernetes object name`);
    return text;
  };
  const lease = { namespace: name('KNP_LEASE_NAMESPACE', DEFAULT_LEASE_SETTINGS.namespace), name: name('KNP_LEASE_NAME', DEFAULT_LEASE_SETTINGS.name), durationS, renewS };
  const maxQueue = int('KNP_WATCHER_MAX_QUEUE', DEFAULT_MAX_QUEUE, 10, 10_000_000);
  const listPageSize = int('KNP_LIST_PAGE_SIZE', DEFAULT_LIST_PAGE_SIZE, 1, 100_000);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    heartbeatMs: heartbeatS * 1000,
    kubeconfig: textVariable(env, 'KUBECONFIG'),
    signer,
    lease,
    maxQueue,
    listPageSize,
  };
}
