import { TSX_CACHE_OFF_FOR_HOST, TSX_CACHE_SWITCH } from './protocol.ts';

/**
 * A child's environment: the runner's, with tsx's disk cache off unless the user set that switch.
 *
 * Why: tsx keeps compiled files in one folder per user (`os.tmpdir()/tsx-<uid>`), and each process
 * that compiles a file lists that whole folder once, to expire entries older than about a week.
 * A child compiles the saved file at every reload, so every child listed it, beside the standby
 * starting and the swap, on a machine of two cores: a folder of 47,000 entries (some weeks of
 * tests here; every project and tool that runs tsx adds to it) took 100-200 ms of CPU per child.
 * Without the cache a child compiles each of the worker's unchanged files again, a few ms each.
 * `npm run bench reload-probe`, alternating in one hour with that folder: median 131 and 170 ms,
 * max 478 and 631, against 597 and 498, max 891 and 1,037 (saves 300 ms apart).
 */
export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env[TSX_CACHE_SWITCH] === undefined ? { ...env, [TSX_CACHE_SWITCH]: TSX_CACHE_OFF_FOR_HOST } : env;
}
