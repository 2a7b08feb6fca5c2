#!/usr/bin/env node
// The published entry point: the compiled CLI. tsx is loaded only when the user's own TypeScript is
// (runner/worker/user-code.ts), so `nsqworker broker` and `nsqworker lookupd` never pay for it.
await import('../dist/runner/cli.js');
