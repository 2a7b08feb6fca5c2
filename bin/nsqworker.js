#!/usr/bin/env node
// The published entry point: registers tsx so the TypeScript sources (ours and the user's worker
// files) run without a build step, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../runner/cli.ts');
