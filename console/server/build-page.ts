/** `npm run build:console`: writes the page bundle where the console server looks for it. */
import { buildPage, DIST_DIR } from './page-bundle.ts';

const outdir = process.argv[2] ?? DIST_DIR;
const { js, css } = await buildPage(outdir);
process.stdout.write(`console page: ${outdir} (app.js ${(js.length / 1024).toFixed(1)} KiB, app.css ${(css.length / 1024).toFixed(1)} KiB)\n`);
