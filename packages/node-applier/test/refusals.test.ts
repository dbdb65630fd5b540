import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_REFUSALS, REFUSAL_BURST_MS, countRefusal, refusalsRecord, type Refusals } from '../src/service/refusals.js';

const Burst = suite('countRefusal: every refusal counted, a burst logged once');
const at = '2026-01-01T00:00:00Z';
const refuse = (r: Refusals, nowMs: number, reason: 'unsigned' | 'future-seq' = 'unsigned') => countRefusal(r, { reason, detail: 'd', source: `stream seq ${nowMs}` }, nowMs, at);

Burst('the first refusal is logged', () => assert.is(refuse(NO_REFUSALS, 0).log, true));
Burst('a flood within the burst window is counted, not logged; the next log says how many went unlogged', () => {
  let r = refuse(NO_REFUSALS, 0).refusals;
  for (let i = 1; i <= 99; i++) {
    const c = refuse(r, i * 10);
    assert.is(c.log, false);
    r = c.refusals;
  }
  assert.is(r.total, 100);
  const next = refuse(r, REFUSAL_BURST_MS, 'future-seq');
  assert.is(next.log, true);
  assert.is(next.unlogged, 99);
  assert.equal(refusalsRecord(next.refusals), { total: 101, byReason: Object.assign(Object.create(null), { 'future-seq': 1, unsigned: 100 }), last: { reason: 'future-seq', detail: 'd', source: `stream seq ${REFUSAL_BURST_MS}`, at } });
});
Burst('no refusals: nothing in the record', () => assert.is(refusalsRecord(NO_REFUSALS), undefined));
Burst.run();
