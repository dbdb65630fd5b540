import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair } from '@knp/shared';
import type { Command } from '../command.js';
import { UsageError } from '../io.js';

const USAGE = `usage: knp keygen --out DIR [--name NAME]

Makes an Ed25519 key pair for signing: DIR/NAME.key (private, mode 0600; KNP_SIGNING_KEY of the watcher or
a compiler) and DIR/NAME.pub (public; list it in KNP_TRUSTED_WATCHER_KEYS or KNP_TRUSTED_COMPILER_KEYS of
the readers). NAME defaults to knp; existing files are never overwritten. Prints the key id.`;

/** Writes `text` to a new file (never through an existing file or link) with `mode`. */
function writeNew(path: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'EEXIST' ? `${path} exists: choose another --name or --out` : `cannot create ${path}: ${code ?? (err as Error).message}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** `knp keygen`: a new signing key pair in files. */
export const keygenCommand: Command = {
  name: 'keygen',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' }, name: { type: 'string', default: 'knp' } }, strict: true, allowPositionals: false });
    if (!values.out) throw new UsageError('--out DIR is required');
    const name = values.name!;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new UsageError(`--name ${JSON.stringify(name)}: 1-64 of A-Z a-z 0-9 . _ -`);
    mkdirSync(values.out, { recursive: true, mode: 0o700 });
    const pair = generateSigningKeyPair();
    const privatePath = join(values.out, `${name}.key`), publicPath = join(values.out, `${name}.pub`);
    writeNew(privatePath, pair.privatePem, 0o600);
    writeNew(publicPath, pair.publicPem, 0o644);
    io.out(`key id ${pair.keyId}\nprivate ${privatePath}\npublic  ${publicPath}\n`);
    return 0;
  },
};
