#!/usr/bin/env node
// The published entry point: the compiled CLI, entered where a command needs the least. The bundled
// servers run from a bundle of their own (dist/servers.js) that holds nothing of the runner; the root
// command's --help loads only the run plan; tsx is loaded only when the user's own TypeScript is
// (runner/worker/user-code.ts), so `nsqworker broker` and `nsqworker lookupd` never pay for it.
const SERVER_COMMANDS = new Set(['broker', 'nsqd', 'lookupd', 'nsqlookupd']);
// NSQ's tools run from a bundle of their own (dist/tools.js) in the same way: the client, no runner.
const TOOL_COMMANDS = new Set(['pub', 'tail', 'stats']);
const [first = '-'] = process.argv.slice(2);
// A command may follow --workers-dir and --config (runner/cli.ts reads them so): its help is its own.
const sharedFlagFirst = /^--(workers-dir|config)(=|$)/.test(first);
const rootHelp = first.startsWith('-') && !sharedFlagFirst && process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h');
// A run's command line (flags first, no command) or dev: a --watch run's child, and dev's children,
// are forked before the CLI loads.
if (first === 'dev' || (first.startsWith('-') && !sharedFlagFirst && !rootHelp)) {
  const { startChildrenEarly } = await import('../dist/bundle/runner/commands/first-host.js');
  await startChildrenEarly(process.argv.slice(2), process.env);
}
await import(
  SERVER_COMMANDS.has(first) ? '../dist/servers.js' : TOOL_COMMANDS.has(first) ? '../dist/tools.js' : rootHelp ? '../dist/bundle/runner/help-cli.js' : '../dist/bundle/runner/cli.js'
);
