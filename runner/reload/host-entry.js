// The child process that runs a worker's code under --watch. It registers tsx with an import
// listener, so the parent learns every file the worker loaded (what to watch), then starts the host.
import { register } from 'tsx/esm/api';

const imported = new Set();
globalThis.__nsqworkerImportedFiles = imported;
register({ onImport: (url) => imported.add(url) });
await import('./host.ts');
