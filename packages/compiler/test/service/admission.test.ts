import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Logger } from '@knp/shared';
import { InputLedger, REFUSAL_LOG_QUIET_MS, admit } from '../../src/service/admission.js';
import type { Consumed } from '../../src/service/event-source.js';
import type { FoldEvent } from '../../src/fold-event.js';

const Admission = suite('admission of consumed events');

/** A logger keeping the fields of each warning (the ledger logs refusals at warn). */
function recordingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = { warn: (fields: Record<string, unknown>) => void lines.push(fields) } as unknown as Logger;
  return { log, lines };
}

const event = (counter: number): FoldEvent => ({ op: 'sync', kind: 'Pod', syncId: 's', chunk: 0, chunks: 1, uids: [], seq: counter, origin: { keyId: 'aaaaaaaaaaaaaaaa', start: 1, counter } });
const consumed = (seq: number, over: Partial<Consumed> = {}): Consumed => ({ seq, subject: 'p.ev.sync.pod', event: event(seq), rejections: [], pending: 0, timeMs: 0, ...over });

Admission('refused and replayed events are not folded; all are counted by reason, with their sequences', () => {
  const { log } = recordingLogger();
  const ledger = new InputLedger(log, () => 0);
  const marks = new Map();
  assert.ok(admit(consumed(1), marks, ledger));
  assert.is(admit(consumed(2, { event: undefined, refusal: { reason: 'bad-signature', detail: 'x' } }), marks, ledger), undefined);
  assert.is(admit(consumed(3, { event: event(1) }), marks, ledger), undefined, 'a replay of the first event');
  assert.is(admit(consumed(4, { event: undefined, rejections: [{ object: 'event', field: 'kind', reason: 'bad' }] }), marks, ledger), undefined);
  const r = ledger.report();
  assert.equal([r.refused, r.refusedByReason, r.recentRefused.map((x) => x.seq)], [2, { 'bad-signature': 1, replayed: 1 }, [2, 3]]);
  assert.equal([r.rejected, r.recentRejected.map((x) => [x.seq, x.field, x.skipped])], [1, [[4, 'kind', true]]]);
});

Admission('a burst of refusals is logged once, with subject and sequence; the next burst says how many were not logged', () => {
  const { log, lines } = recordingLogger();
  let now = 1_000;
  const ledger = new InputLedger(log, () => now);
  const refuse = (seq: number) => ledger.refuse(seq, 'p.ev.sync.pod', { reason: 'unsigned', detail: 'no signature' });
  for (let seq = 1; seq <= 50; seq++) (refuse(seq), (now += 10));
  assert.is(lines.length, 1);
  assert.equal([lines[0]!.seq, lines[0]!.subject, lines[0]!.reason], [1, 'p.ev.sync.pod', 'unsigned']);
  now += REFUSAL_LOG_QUIET_MS;
  refuse(51);
  assert.equal([lines.length, lines[1]!.seq, lines[1]!.notLoggedBefore], [2, 51, 49]);
  assert.is(ledger.report().refused, 51);
});

Admission.run();
