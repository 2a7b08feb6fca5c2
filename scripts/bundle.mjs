// Bundles the compiled package (tsc's output in dist/), run after tsc (npm run build does). Node 20
// keeps a record and the source text of every ES module it loads, and loads each on its own: the
// ~200 small modules of ours a process would load cost start-up time and memory.
//
// - dist/servers.js: `nsqworker broker` and `nsqworker lookupd` (dist/runner/server-cli.js, with the
//   server, zod, pino and cac) in one file; libraries loaded on demand through createRequire
//   (pino-pretty on a terminal) stay outside, resolved from node_modules. dist/tools.js: `pub`,
//   `tail` and `stats` (dist/runner/tool-cli.js, with the client) in the same way.
// - dist/bundle/: what the package's other entry points load — the public API (index.js, what
//   `import 'nsqworker'` gets), the CLI, the root --help, the reload child and what forks it early
//   (runner/commands/first-host.ts, loaded before the CLI for a --watch run) — with the code they
//   share in chunks and what they load on demand split off. Dependencies stay in node_modules: a
//   user's worker imports zod and nsqworker, and must get the very modules the runner uses.
//
// Code that needs a file of the package finds it from the package's root (package-paths.ts),
// never from its own URL, which in a chunk says nothing of its source folder.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names change with their content: a bundle left from an earlier build would pile up (and be packed).
rmSync('dist/bundle', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
};

// A command that runs none of the user's code, in one file with what it imports (zod, pino, cac).
const standalone = (entry, outfile) =>
  build({
    ...common,
    entryPoints: [entry],
    outfile,
    minify: true,
    keepNames: true,
    // Bundled CommonJS (pino, cac) calls require() for Node's own modules.
    banner: { js: "import { createRequire as __nsqworkerCreateRequire } from 'node:module'; const require = __nsqworkerCreateRequire(import.meta.url);" },
    // Native addons (snappy framing) are loaded on first use from node_modules, never bundled.
    external: ['snappy', '@node-rs/crc32'],
  });

await standalone('dist/runner/server-cli.js', 'dist/servers.js');
await standalone('dist/runner/tool-cli.js', 'dist/tools.js');

await build({
  ...common,
  entryPoints: ['dist/index.js', 'dist/runner/cli.js', 'dist/runner/help-cli.js', 'dist/runner/reload/host.js', 'dist/runner/commands/first-host.js'],
  outbase: 'dist',
  outdir: 'dist/bundle',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  packages: 'external',
  // Not minified: a stack trace in a user's log keeps its lines and names.
});
