import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lagEvents } from '../src/service/applier-ops.js';

const Lag = suite('lagEvents: knp_applier_lag_events');
const v = (epoch: string, seq: number) => ({ epoch, seq });
const cases: Array<[name: string, newest: ReturnType<typeof v> | undefined, inForce: ReturnType<typeof v> | undefined, expected: number]> = [
  ['nothing seen: no lag', undefined, undefined, 0],
  ['the newest in force: no lag', v('e1', 40), v('e1', 40), 0],
  ['an older one in force: the events between them', v('e1', 40), v('e1', 31), 9],
  ['nothing in force: all of the newest', v('e1', 40), undefined, 40],
  ['the newest from a newer epoch: all of it', v('e2', 6), v('e1', 40), 6],
  ['in force newer than anything seen since (stored at start): no lag', v('e1', 3), v('e1', 40), 0],
];
for (const [name, newest, inForce, expected] of cases) Lag(name, () => assert.is(lagEvents(newest, inForce), expected));
Lag.run();
