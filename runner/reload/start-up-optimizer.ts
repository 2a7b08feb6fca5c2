/**
 * V8's optimizing compiler, TurboFan, off while a child starts and on before any of the user's code
 * runs. A child's start runs code once (Node's loaders, tsx, esbuild's client, the package's and
 * zod's module bodies), which TurboFan would compile again on threads of its own for nothing:
 * measured here, 640 ms of CPU from fork to warm against 540 with it off, on a machine of two cores
 * where the standbys' start-ups are what a reload waits for. The child turns it on once warm, and
 * takes the flag out of its `process.execArgv` and the mark out of its environment, so neither the
 * user's code nor what it forks sees them.
 *
 * A runner started with flags of its own for the optimizer (or `--jitless`) passes them on unchanged
 * and adds nothing: its children run as it asked, from the first instruction to the last.
 */
import { setFlagsFromString } from 'node:v8';

const OFF_WHILE_STARTING = '--no-turbofan';
const ON = '--turbofan';
/**
 * Set in a child's environment when its runner added {@link OFF_WHILE_STARTING}: a user's own
 * `--no-turbofan`, passed on, looks the same in `process.execArgv`, and must stay.
 */
const ADDED_MARK = 'NSQWORKER_HOST_OPTIMIZER_OFF_WHILE_STARTING';

/** V8 flags that decide whether, or how far, functions are optimized: a user who gives one keeps it. */
const OPTIMIZER_FLAGS = new Set(['turbofan', 'opt', 'max-opt', 'jitless', 'maglev', 'sparkplug']);

/**
 * The V8 flag's name as V8 reads it: `--no-turbofan`, `--noturbofan` and `--no_turbofan` all set
 * `turbofan`, and `--max_opt=0` is `max-opt` (V8's flags.cc: `-` and `_` are the same, `no` negates).
 */
function flagName(arg: string): string {
  const name = arg.replace(/^--?/, '').split('=')[0]!.replaceAll('_', '-');
  const positive = name.startsWith('no-') ? name.slice(3) : name.startsWith('no') ? name.slice(2) : name;
  return OPTIMIZER_FLAGS.has(positive) ? positive : name;
}

/**
 * How to fork a child: the runner's own flags, then the optimizer off, marked in the child's
 * environment (`env`, returned as a copy when marked) — unless the runner's flags or NODE_OPTIONS
 * (which admits `--jitless`) already say how to optimize; then both as they are.
 */
export function optimizerOffWhileStarting(runnerExecArgv: readonly string[], env: NodeJS.ProcessEnv): { execArgv: string[]; env: NodeJS.ProcessEnv } {
  const given = [...runnerExecArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].filter((arg) => arg.startsWith('-'));
  if (given.some((arg) => OPTIMIZER_FLAGS.has(flagName(arg)))) return { execArgv: [...runnerExecArgv], env };
  return { execArgv: [...runnerExecArgv, OFF_WHILE_STARTING], env: { ...env, [ADDED_MARK]: '1' } };
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
