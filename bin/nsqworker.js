#!/usr/bin/env node
// The published entry point: the compiled CLI. The bundled servers run from a bundle of their own
// (dist/servers.js) that holds nothing of the runner; tsx is loaded only when the user's own
// TypeScript is (runner/worker/user-code.ts), so `nsqworker broker` and `nsqworker lookupd` never
// pay for it.
const SERVER_COMMANDS = new Set(['broker', 'nsqd', 'lookupd', 'nsqlookupd']);
await import(SERVER_COMMANDS.has(process.argv[2] ?? '') ? '../dist/servers.js' : '../dist/runner/cli.js');
