import {
  APPLIER_KEY_PREFIX, COMPILER_KEY_PREFIX, REJECTIONS_KEY, STATUS_SCHEMA, WATCHER_STATUS_KEY,
  ConfigError, checkRuleSet, compareVersions, isNodeMessagePayload, names, versionRefusal, readSigningSettings, type ApplierRecord, type CompilerStatus, type RejectionsRecord, type Trust, type WatcherStatus,
} from '@knp/shared';
import { ManifestCache, checkSubjectMessage, isNotFound, kvKeys, largeMessageKind, readLarge, receivedRuleSet } from '@knp/shared/nats';
import type { JetStreamManager, KV, NatsConnection } from 'nats';
import type { ClusterFacts, DesiredRuleSet } from './records.js';

/** KNP_TRUSTED_COMPILER_KEYS for an operator command: whose rule sets count as desired. Throws ConfigError (exit 2). */
export function rulesTrustFromEnv(env: Readonly<Record<string, string | undefined>>): Trust {
  const problems: string[] = [];
  const trust = readSigningSettings({ KNP_TRUSTED_COMPILER_KEYS: env.KNP_TRUSTED_COMPILER_KEYS }, problems).compilers;
  if (problems.length > 0) throw new ConfigError(problems);
  return trust;
}

/**
 * Reads everything `knp wait` and `knp status` judge, in the order that makes a "synced" verdict safe: the
 * events stream, then the watcher and compiler records, then the newest rule sets (published before the
 * compiler recorded its evaluation), then the appliers' records. Rule sets are re-read only when their
 * subject moved (cache by stream sequence), so polling a large cluster stays cheap.
 */
export class FactsReader {
  private readonly n;
  private readonly desiredCache = new Map<string, { seq: number; desired: DesiredRuleSet }>();
  private readonly manifests = new ManifestCache();
  private kv: KV | undefined;

  /** `trust`: whose rule sets count as desired; a newest rule set that fails the applier's checks is reported as an error. */
  constructor(private readonly nc: NatsConnection, private readonly prefix: string, private readonly trust: Trust = { mode: 'unsigned' }) {
    this.n = names(prefix);
  }

  async read(): Promise<ClusterFacts> {
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.streams.info(this.n.eventsStream).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    const events = { epoch: info?.created, lastSeq: info?.state.last_seq ?? 0 };
    const kv = await this.statusBucket();
    const records = new Map<string, unknown>();
    const keys = await kvKeys(jsm, this.n.statusBucket);
    const get = async (key: string): Promise<void> => {
      const entry = await kv!.get(key);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) records.set(key, entry.json());
    };
    await Promise.all(keys.filter((k) => !k.startsWith(APPLIER_KEY_PREFIX)).map(get));
    const desired = await this.readDesired(jsm, events);
    await Promise.all(keys.filter((k) => k.startsWith(APPLIER_KEY_PREFIX)).map(get));
    const nowMs = Date.now();
    const compilers: CompilerStatus[] = [];
    const appliers: ApplierRecord[] = [];
    for (const [key, value] of records) {
      if (key.startsWith(APPLIER_KEY_PREFIX) && (value as { schema?: unknown }).schema === STATUS_SCHEMA) appliers.push(value as ApplierRecord);
      else if (key.startsWith(COMPILER_KEY_PREFIX) && key !== REJECTIONS_KEY) compilers.push(value as CompilerStatus);
    }
    return {
      nowMs,
      prefix: this.prefix,
      events,
      watcher: records.get(WATCHER_STATUS_KEY) as WatcherStatus | undefined,
      compilers,
      rejections: records.get(REJECTIONS_KEY) as RejectionsRecord | undefined,
      appliers,
      desired,
      verified: this.trust.mode === 'signed',
    };
  }

  /** The status bucket, bound only: a reader never creates it. */
  private async statusBucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(this.n.statusBucket, { bindOnly: true });
    return this.kv;
  }

  private async readDesired(jsm: JetStreamManager, events: { epoch: string | undefined; lastSeq: number }): Promise<DesiredRuleSet[]> {
    const stream = this.n.rulesStream;
    const info = await jsm.streams.info(stream, { subjects_filter: this.n.rulesSubjects }).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    const subjects = Object.keys(info?.state.subjects ?? {}).filter((s) => this.n.nodeOfRulesSubject(s) !== undefined).sort();
    return Promise.all(subjects.map((subject) => this.readOne(jsm, stream, subject, events)));
  }

  private async readOne(jsm: JetStreamManager, stream: string, subject: string, events: { epoch: string | undefined; lastSeq: number }): Promise<DesiredRuleSet> {
    const node = this.n.nodeOfRulesSubject(subject) ?? subject;
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    const cached = this.desiredCache.get(subject);
    if (cached?.seq === m.seq) return cached.desired;
    let desired: DesiredRuleSet;
    // a read that failed (a part, or a pointer's manifest, not fetched) may succeed next time
    let unreadable = false;
    try {
      const data = largeMessageKind(m.header) === 'whole' ? m.data : await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.header });
      const position = { epoch: events.epoch ?? '', lastSeq: events.lastSeq };
      const refused = (r: { reason: string; detail: string }): DesiredRuleSet => ({ node, error: `newest rule set (stream seq ${m.seq}) refused: ${r.reason}: ${r.detail}` });
      if (isNodeMessagePayload(data!)) {
        // a node message (FULL or DELTA; a pointer by its manifest): its signed statement names version and
        // content hash; the applier checks that the expanded content hashes to it, so status needs no set contents
        const check = await checkSubjectMessage({ jsm, prefix: this.prefix, trust: this.trust }, node, m.header, data!, this.manifests);
        const refusal = check.kind === 'refuse' ? check : versionRefusal(check.value.version, position);
        desired = refusal ? refused(refusal) : check.kind === 'ok' ? { node, version: check.value.version, hash: check.value.contentHash } : refused(check);
      } else {
        const check = checkRuleSet(receivedRuleSet(m.header, data!), this.trust, node, position, undefined);
        desired = check.kind === 'refuse' ? refused(check) : { node, version: check.ruleSet.version, hash: check.ruleSet.contentHash };
      }
    } catch (err) {
      unreadable = true;
      desired = { node, error: `newest rule set (stream seq ${m.seq}) unreadable: ${(err as Error).message}` };
    }
    // a writer never publishes a version after a newer one: an older one newest on the subject is an old
    // message published again (a pointer's manifest is signed, the pointer is not), so what this reader saw
    // there before stands. A reader started after such a replay reports it until the node's next version.
    if (cached?.desired.version && desired.version && compareVersions(desired.version, cached.desired.version) < 0) desired = cached.desired;
    // a seq past the events stream's last may be reached later, and an unreadable one read: judge those again then
    if (!unreadable && !desired.error?.includes('future-seq')) this.desiredCache.set(subject, { seq: m.seq, desired });
    return desired;
  }
}

