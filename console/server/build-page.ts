/**
 * Writes the page bundle: `npm run build` passes `dist/console/page-assets` (beside the compiled
 * server); `npm run build:console` writes `console/page-assets/` for a server run from the sources.
 */
import { buildPage, ASSETS_DIR } from './page-bundle.ts';

const outdir = process.argv[2] ?? ASSETS_DIR;
const { js, css } = await buildPage(outdir);
process.stdout.write(`console page: ${outdir} (app.js ${(js.length / 1024).toFixed(1)} KiB, app.css ${(css.length / 1024).toFixed(1)} KiB)\n`);
