/**
 * The page's bundle: built by `npm run build` into `dist/console/page-assets/` beside the compiled
 * server (what the tarball ships), or, when the server runs from a source checkout where
 * `npm run build:console` did not write `console/page-assets/`, bundled in memory on first use with
 * the esbuild the checkout has as a devDependency. Either way nothing is fetched at run time.
 */
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { CODE_ROOT, PACKAGE_ROOT } from '../../package-paths.ts';

export interface PageAssets {
  js: Buffer;
  css: Buffer;
}

const PAGE_DIR = join(PACKAGE_ROOT, 'console', 'page') + sep;
/** `console/page-assets/` from a checkout's sources, `dist/console/page-assets/` built. */
export const ASSETS_DIR = join(CODE_ROOT, 'console', 'page-assets') + sep;

/** Bundles the page with esbuild: `outdir` writes `app.js` and `app.css`; without it, in memory. */
export async function buildPage(outdir?: string): Promise<PageAssets> {
  // esbuild is a devDependency: only a checkout without a built bundle (or the build) loads it.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { app: `${PAGE_DIR}main.ts` },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    outdir: outdir ?? ASSETS_DIR,
    write: outdir !== undefined,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  if (outdir !== undefined) return readAssets(outdir);
  const pick = (ext: string) => Buffer.from(result.outputFiles?.find((file) => file.path.endsWith(ext))?.contents ?? new Uint8Array());
  return { js: pick('.js'), css: pick('.css') };
}

async function readAssets(dir: string): Promise<PageAssets> {
  const [js, css] = await Promise.all([readFile(`${dir}/app.js`), readFile(`${dir}/app.css`)]);
  return { js, css };
}

let loading: Promise<PageAssets> | undefined;

/** The built bundle if the package has one, else an in-memory build; loaded once per process. */
export function loadPageAssets(): Promise<PageAssets> {
  loading ??= readAssets(ASSETS_DIR).catch(() => buildPage());
  return loading;
}
