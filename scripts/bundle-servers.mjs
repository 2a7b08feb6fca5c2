// Bundles the entry of `nsqworker broker` and `nsqworker lookupd` (dist/runner/server-cli.js, with
// the server, zod, pino and cac) into one file: Node 20 keeps a record and the source text of every
// ES module it loads, and the ~200 small modules those processes would load cost ~8 MB of idle
// memory on their own. Run after tsc (npm run build does). Libraries loaded on demand through
// createRequire (pino-pretty on a terminal) stay outside the bundle, resolved from node_modules.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/runner/server-cli.js'],
  outfile: 'dist/servers.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: true,
  legalComments: 'linked',
  // Bundled CommonJS (pino, cac) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __nsqworkerCreateRequire } from 'node:module'; const require = __nsqworkerCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  // Native addons (snappy framing) are loaded on first use from node_modules, never bundled.
  external: ['snappy', '@node-rs/crc32'],
});
