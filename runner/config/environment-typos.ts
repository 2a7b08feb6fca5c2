/**
 * NSQWORKER_* variables a typo away from one a run reads (`NSQWORKER_MAX_INFLIGHT` for
 * `NSQWORKER_MAX_IN_FLIGHT`). An unknown variable is otherwise ignored without a word, which under
 * systemd or supervisor leaves a setting at its default with nothing in the log. The environment may be
 * shared by workers with other options, so a variable no name is near is not named: only a near miss.
 */

import { onlyNear } from './suggest.ts';

const PREFIX = 'NSQWORKER_';

/** Variables the runner reads besides its settings' and the worker's options' (`--config`, the worker's names, the log's format). */
const OTHER_VARIABLES = ['NSQWORKER_CONFIG', 'NSQWORKER_WORKERS_DIR', 'NSQWORKER_TOPIC', 'NSQWORKER_CHANNEL', 'NSQWORKER_LOG_FORMAT'];

/**
 * One warning per NSQWORKER_* variable of `env` that is not among `known` (the settings' and the
 * worker's options' variables) and is a typo from exactly one of them, in the variables' order:
 * `NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?`.
 */
export function environmentTypos(env: NodeJS.ProcessEnv, known: readonly string[]): string[] {
  const names = [...known, ...OTHER_VARIABLES];
  // Compared without the prefix, which every name shares: a typo is judged on what follows it.
  const suffixes = names.map((name) => name.slice(PREFIX.length));
  const warnings: string[] = [];
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith(PREFIX) || names.includes(variable)) continue;
    const meant = onlyNear(variable.slice(PREFIX.length), suffixes);
    if (meant !== undefined) warnings.push(`${variable} is set but not read; did you mean ${PREFIX}${meant}?`);
  }
  return warnings;
}
