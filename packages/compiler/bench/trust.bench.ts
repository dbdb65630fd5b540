/*
 * What trust costs (issue 12): signing and verifying a rule set's statement, and the applier's check on
 * receipt (parse, schema, contentHash recomputed from the received content), at the median rule set of the
 * 10,000-pod synthetic cluster. Prints figures and the machine; never asserts on time.
 * Run: pnpm --filter @knp/compiler bench   (node dist/bench/trust.bench.js)
 */
import os from 'node:os';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  KEY_ID_HEADER, SIGNATURE_HEADER, STATEMENT_HEADER, checkRuleSet, checkSignature, contentHash, generateSigningKeyPair, loadTrustedKeys,
  ruleSetHeaders, signingKeyFrom, type RuleSet, type Trust,
} from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '../src/index.js';
import { generateCluster } from './synthetic-cluster.js';

const SAMPLES = 200;
const print = (text: string): void => void process.stdout.write(`${text}\n`);
const line = (label: string, value: string): void => print(`  ${label.padEnd(46)} ${value}`);
const pct = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const ms = (x: number): string => `${x.toFixed(3)} ms`;
/** Median and p99 of `SAMPLES` runs of `f` (after a few warm-up runs). */
function time(f: () => unknown): { median: number; p99: number } {
  for (let i = 0; i < 5; i++) f();
  const xs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return { median: pct(xs, 50), p99: pct(xs, 99) };
}

const cpus = os.cpus();
print('knp trust benchmark (rule set signing and checks)');
line('machine', `${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, kernel ${os.release()}`);

const cluster = generateCluster(42);
const epoch = '2026-12-04T01:30:05.123456789Z';
const state = evolveAll(emptyState(epoch), eventsFromObjects([...cluster.namespaces, ...cluster.pods, ...cluster.policies]).events.map((e, i) => ({ ...e, seq: i + 1 })));
const bySize = Object.values(compileAll(state)).map((rs) => ({ rs, text: JSON.stringify(rs) })).sort((a, b) => a.text.length - b.text.length);
const { rs: median, text } = bySize[Math.floor(bySize.length / 2)]!;
const ruleSet: RuleSet = median;
line('rule sets / median size', `${bySize.length} / ${(text.length / 1024).toFixed(1)} KiB (${ruleSet.pods.length} pods, ${ruleSet.rules.length} rules, ${ruleSet.sets.length} sets)`);

const pair = generateSigningKeyPair();
const dir = mkdtempSync(join(os.tmpdir(), 'knp-trust-bench-'));
writeFileSync(join(dir, 'compiler.pub'), pair.publicPem);
const trust: Trust = { mode: 'signed', keys: loadTrustedKeys([dir]) };
rmSync(dir, { recursive: true });
const signer = signingKeyFrom(createPrivateKey(pair.privatePem));
const headers = ruleSetHeaders(signer, ruleSet);
const statement = Buffer.from(headers.get(STATEMENT_HEADER)!, 'utf8');
const signature = { keyId: headers.get(KEY_ID_HEADER), signature: headers.get(SIGNATURE_HEADER) };
const body = Buffer.from(text, 'utf8');
const received = { statement: headers.get(STATEMENT_HEADER), signature, body };
const events = { epoch, lastSeq: state.seq };
if (checkRuleSet(received, trust, ruleSet.node, events, undefined).kind !== 'accept') throw new Error('bench: the median rule set does not pass its own check');

const sign = time(() => ruleSetHeaders(signer, ruleSet));
const verify = time(() => checkSignature(trust, signature, statement));
const hashOnly = time(() => contentHash(JSON.parse(text) as RuleSet));
const receipt = time(() => checkRuleSet(received, trust, ruleSet.node, events, undefined));
print('per rule set (median / p99)');
line('sign (statement + Ed25519)', `${ms(sign.median)} / ${ms(sign.p99)}`);
line('verify (Ed25519 over the statement)', `${ms(verify.median)} / ${ms(verify.p99)}`);
line('sign + verify', `${ms(sign.median + verify.median)}   (target <= 1 ms)`);
line('contentHash of the received content (+ parse)', `${ms(hashOnly.median)} / ${ms(hashOnly.p99)}`);
line('whole check on receipt (checkRuleSet)', `${ms(receipt.median)} / ${ms(receipt.p99)}   (target <= 10 ms)`);
print(`BENCH_JSON ${JSON.stringify({ ruleSetBytes: text.length, signMs: sign.median, verifyMs: verify.median, hashMs: hashOnly.median, receiptMs: receipt.median })}`);
