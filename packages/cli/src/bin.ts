// The process entry `bin/knp` runs: checks the Node version before loading anything else, then runs one
// command and exits with its code.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`knp: needs Node.js 24 or newer, this is ${process.version} (scripts/dev.sh installs it into .tools/node)\n`);
  process.exit(2);
}
const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
