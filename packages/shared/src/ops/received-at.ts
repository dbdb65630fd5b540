/*
 * The moment the watcher received a change from the API server travels with it as a NATS header, from the
 * event to the rule set it led to, so that each applier can time the whole path (receive -> kernel write)
 * into knp_policy_implementation_delay_seconds. It is telemetry: it is not part of the event or rule set
 * payload, not covered by any signature, and a forged or missing value can only skew that histogram.
 */

/** The header: milliseconds since the Unix epoch, as decimal digits. */
export const RECEIVED_AT_HEADER = 'Knp-Received-At';

/** The header's value for a receive time. */
export const receivedAtText = (ms: number): string => String(Math.trunc(ms));

/** A header value read as hostile: decimal digits of a plausible epoch-ms time, else undefined (not timed). */
export function parseReceivedAt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  const ms = Number(text);
  return ms > 0 ? ms : undefined;
}

/** The earlier of two receive times, either of which may be unknown. */
export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * The delay to observe once the kernel holds the change, in seconds; undefined when there is no receive
 * time or it lies in the future (clocks of the watcher's and this node's hosts disagree: not a delay).
 */
export function implementationDelaySeconds(receivedAtMs: number | undefined, nowMs: number): number | undefined {
  if (receivedAtMs === undefined || receivedAtMs > nowMs) return undefined;
  return (nowMs - receivedAtMs) / 1000;
}
