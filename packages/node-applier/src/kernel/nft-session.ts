import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelCommandError, batchError, type KernelTarget } from './run.js';

/**
 * A long-lived `nft -i` child for one network namespace: the process start (3 ms with `ip netns exec`) and,
 * above all, the cache nft 1.0.6 fills before every `delete element` (the elements of every set in the
 * table, 14 ms at 20,000 elements) are paid once instead of per transaction.
 *
 * One transaction per `run`: the script is written to a private file and the session reads the line
 * `include "<file>"`. nft -i parses each input line as one buffer and commits it as one netlink batch, and
 * an include is expanded into that batch, so the whole script is applied or, one command failing, none of
 * it (checked by the tests: a failing last line leaves the first lines unapplied). Completion: after the
 * include line we send a line that is a syntax error naming a fresh marker (`knp-done-<n>`); nft reports
 * it on stderr only after the include is committed or refused, so stderr up to the marker is the
 * transaction's whole report (nft -i prints nothing on success). An error there is reported like `nft -f`
 * reports it: file line, its text and the reason.
 *
 * The child is started at the first `run`, started again at the next `run` when it has died (a
 * transaction in flight when it dies is reported failed: the kernel holds the old or the new version, and
 * the caller's retry loads the whole table), killed on `close()`, and never keeps Node's event loop alive
 * (it reads EOF on stdin and exits when this process does).
 */
export class NftSession {
  /**
   * nft -i keeps every input line in its (libedit) history for its lifetime: a child is replaced after this
   * many transactions, so memory stays bounded; the next one pays the cache fill once.
   */
  static readonly TRANSACTIONS_PER_CHILD = 10_000;
  private child: ChildProcess | undefined;
  private childTransactions = 0;
  private stderr = '';
  private waiter: { readonly marker: RegExp; readonly done: (err?: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private dir: string | undefined;
  private counter = 0;
  private closed = false;
  /** Children started so far (tests: a restart after the child died). */
  starts = 0;

  private readonly transactionsPerChild: number;

  constructor(
    private readonly target: KernelTarget,
    options: { readonly transactionsPerChild?: number } = {},
  ) {
    this.transactionsPerChild = options.transactionsPerChild ?? NftSession.TRANSACTIONS_PER_CHILD;
  }

  /** The child's pid while it runs (tests kill it to check the restart). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** A transaction has been sent and its answer not read yet. */
  get inFlight(): boolean {
    return this.waiter !== undefined;
  }

  /** Applies `script` (nft -f syntax) as one transaction; serialised with every other `run` of this session. */
  run(script: string): Promise<void> {
    const next = this.queue.then(() => this.runNow(script));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Kills the child and removes the script file; a later `run` is refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    this.child?.kill('SIGKILL');
    this.child = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private async runNow(script: string): Promise<void> {
    if (this.closed) throw new KernelCommandError('nft session closed', '');
    const child = this.child ?? this.start();
    const file = join((this.dir ??= mkdtempSync(join(tmpdir(), 'knp-nft-'))), 'transaction.nft');
    writeFileSync(file, script, { mode: 0o600 });
    const marker = `knp-done-${++this.counter}`;
    this.stderr = '';
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
        reject(new KernelCommandError(`nft session: no answer within ${this.target.timeoutMs ?? 30_000} ms`, this.stderr));
      }, this.target.timeoutMs ?? 30_000);
      // the marker's own error report ends with its caret line
      this.waiter = {
        marker: new RegExp(`^${marker}\\n *\\^+\\n`, 'm'),
        done: (err) => {
          clearTimeout(timer);
          this.waiter = undefined;
          if (err) reject(err);
          else resolve();
        },
      };
    });
    child.stdin!.write(`include "${file}"\n${marker}\n`);
    await finished;
    if (++this.childTransactions >= this.transactionsPerChild) {
      this.child = undefined;
      child.stdin!.end(); // it exits at EOF; the next run starts another
    }
    const report = this.stderr.slice(0, this.stderr.search(new RegExp(`^Error: [^\\n]*\\n${marker}$`, 'm')));
    if (/Error: /.test(report)) throw scriptError(script, file, report);
  }

  private start(): ChildProcess {
    if (/["\n]/.test(tmpdir())) throw new KernelCommandError(`nft session: the temporary directory ${JSON.stringify(tmpdir())} cannot be named in an include`, '');
    const argv = [...(this.target.netns ? ['ip', 'netns', 'exec', this.target.netns] : []), 'nft', '-i'];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.starts += 1;
    this.child = child;
    this.childTransactions = 0;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (this.child !== child) return; // a replaced child's last words are no transaction's
      this.stderr += text;
      if (this.waiter?.marker.test(this.stderr)) this.waiter.done();
    });
    const ended = (why: string): void => {
      if (this.child !== child) return; // replaced or closed: no transaction of its own is waiting
      this.child = undefined;
      this.waiter?.done(new KernelCommandError(`nft session ended (${why}) during a transaction; its outcome is unknown`, this.stderr));
    };
    child.on('error', (e) => ended(`cannot run ${argv[0]}: ${e.message}`));
    child.on('exit', (code, signal) => ended(signal ?? `exit ${code}`));
    child.stdin!.on('error', () => undefined); // EPIPE when the child died; its exit event tells
    // an idle session must not keep a CLI or a test process running
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    return child;
  }
}

/** nft says `In file included from <cmdline>:1:1-N:` then `<file>:LINE:COL-COL: Error: reason`. */
function scriptError(script: string, file: string, report: string): KernelCommandError {
  const match = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):[\\d-]+: Error: (.*)$`, 'm').exec(report);
  const reason = match?.[2] ?? /Error: (.*)/.exec(report)?.[1] ?? 'refused';
  return batchError('nft', script, report, match ? Number(match[1]) : undefined, reason);
}
