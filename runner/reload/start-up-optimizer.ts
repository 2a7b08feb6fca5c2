/**
 * V8's optimizing compiler, TurboFan, off while a child starts and on before any of the user's code
 * runs. A child's start runs code once (Node's loaders, tsx, esbuild's client, the package's and
 * zod's module bodies), which TurboFan would compile again on threads of its own for nothing: 640 ms
 * of CPU from fork to warm against 540 with it off (five starts each, read from /proc; README's hot
 * reload section), on a machine of two cores where the standbys' start-ups are what a reload waits
 * for. The child turns it on once warm, and takes the flag out of its `process.execArgv` and the mark
 * out of its environment, so neither the user's code nor what it forks sees them.
 *
 * A runner started with a V8 flag of its own about optimizing passes it on and adds nothing: its
 * children run as it asked, from the first instruction to the last. So does a runner that preloads
 * code (`--require`, `--import`, `--loader`, in its flags or NODE_OPTIONS): that code runs as a child
 * starts, before the optimizer would be back, and what it forks would keep the flag.
 */
import { setFlagsFromString } from 'node:v8';

const OFF_WHILE_STARTING = '--no-turbofan';
const ON = '--turbofan';
/**
 * Set in a child's environment when its runner added {@link OFF_WHILE_STARTING}: a user's own
 * `--no-turbofan`, passed on, looks the same in `process.execArgv`, and must stay.
 */
const ADDED_MARK = 'NSQWORKER_HOST_OPTIMIZER_OFF_WHILE_STARTING';

/** V8's flags about optimizing (V8's flag-definitions.h), by the names {@link flagName} gives. */
const OPTIMIZER_FLAGS = new Set(['turbofan', 'opt', 'max-opt', 'jitless', 'lite-mode', 'always-turbofan', 'maglev', 'sparkplug']);

/** Node's options that load code before the child's own (Node's `node --help`). */
const PRELOAD_OPTIONS = new Set(['r', 'require', 'import', 'loader', 'experimental-loader']);

/**
 * An option's name without its dashes and value, `_` read as `-` (V8's flags.cc: the two are the same);
 * for a V8 flag about optimizing, without the `no`/`no-` that negates it (`--noturbofan`,
 * `--no_turbofan` and `--turbofan` are all `turbofan`, `--max_opt=0` is `max-opt`).
 */
function flagName(arg: string): string {
  const name = arg.replace(/^--?/, '').split('=')[0]!.replaceAll('_', '-');
  const positive = name.startsWith('no-') ? name.slice(3) : name.startsWith('no') ? name.slice(2) : name;
  return OPTIMIZER_FLAGS.has(positive) ? positive : name;
}

/**
 * How to fork a child: the runner's own flags, then the optimizer off, marked in the child's
 * environment (a copy of `env`, which is never changed) — unless the runner's flags or NODE_OPTIONS
 * (which admits `--jitless` and preloads) already say how to optimize, or preload code; then its flags
 * as they are, and no mark (one the runner itself inherited is dropped: it is not the child's to act on).
 */
export function optimizerOffWhileStarting(runnerExecArgv: readonly string[], env: NodeJS.ProcessEnv): { execArgv: string[]; env: NodeJS.ProcessEnv } {
  const { [ADDED_MARK]: _inherited, ...unmarked } = env;
  const given = [...runnerExecArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].filter((arg) => arg.startsWith('-')).map(flagName);
  if (given.some((name) => OPTIMIZER_FLAGS.has(name) || PRELOAD_OPTIONS.has(name))) return { execArgv: [...runnerExecArgv], env: unmarked };
  return { execArgv: [...runnerExecArgv, OFF_WHILE_STARTING], env: { ...unmarked, [ADDED_MARK]: '1' } };
}

/**
 * In the child, once warm and before the user's code loads: if its runner turned the optimizer off
 * ({@link optimizerOffWhileStarting}), on again, with the flag taken out of `process.execArgv` (which
 * a `fork()` in the user's code would copy) and the mark out of the environment. Node warns that a
 * flag set at run time may do nothing; this one is read each time V8 decides whether to optimize a
 * function (reload.test.ts checks that the user's code is optimized).
 */
export function optimizerOnOnceStarted(): void {
  if (process.env[ADDED_MARK] !== '1') return;
  delete process.env[ADDED_MARK];
  if (process.execArgv.at(-1) === OFF_WHILE_STARTING) process.execArgv.pop();
  setFlagsFromString(ON);
}
