import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRuleSet } from '@knp/shared';
import { readState, stateFilePath, writeState } from '../src/service/state-file.js';

/** The state file is written by root on every node: nothing planted in its directory may redirect the write. */
const State = suite('the applier state file');
const ruleSet = makeRuleSet({ node: 'node-1', pods: [], rules: [], sets: [] }, { epoch: '2026-01-01T00:00:00Z', seq: 3 });
let dir = '';
State.before.each(() => void (dir = mkdtempSync(join(tmpdir(), 'knp-state-'))));
State.after.each(() => rmSync(dir, { recursive: true, force: true }));

State('writes and reads back; the directory is created 0700 and the file 0600', () => {
  const path = stateFilePath(join(dir, 'knp'), 'knp', 'node-1');
  writeState(path, { ruleSet });
  assert.is(statSync(join(dir, 'knp')).mode & 0o777, 0o700);
  assert.is(statSync(path).mode & 0o777, 0o600);
  const read = readState(path, 'node-1');
  assert.is(read.kind === 'found' && read.state.ruleSet.contentHash, ruleSet.contentHash);
});

State('an existing directory open to others is narrowed to 0700', () => {
  chmodSync(dir, 0o777);
  writeState(join(dir, 'state.json'), { ruleSet });
  assert.is(statSync(dir).mode & 0o777, 0o700);
});

State('links planted at every predictable temp name never redirect the write', () => {
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  const path = join(dir, 'state.json');
  const planted = [`${path}.tmp-${process.pid}`, `${path}.tmp`, join(dir, '.state.json.tmp')];
  for (const name of planted) symlinkSync(victim, name);
  writeState(path, { ruleSet });
  assert.is(readFileSync(victim, 'utf8'), 'precious');
  assert.ok(readState(path, 'node-1').kind === 'found');
  const expected = ['state.json', 'victim', ...planted.map((p) => p.slice(dir.length + 1))].sort();
  assert.equal(readdirSync(dir).sort(), expected, 'no temp file left behind');
});

State('a state directory that is a link is refused', () => {
  symlinkSync(dir, join(dir, 'link'));
  assert.throws(() => writeState(join(dir, 'link', 'state.json'), { ruleSet }), /not a directory/);
});

State.run();
