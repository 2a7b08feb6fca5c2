/**
 * NSQWORKER_* variables a typo away from one a run reads (`NSQWORKER_MAX_INFLIGHT` for
 * `NSQWORKER_MAX_IN_FLIGHT`), or a duration's variable written with its key's `Ms`
 * (`NSQWORKER_WORK_MS` for the option `workMs`, whose variable is `NSQWORKER_WORK`). An unknown
 * variable is otherwise ignored without a word, which under systemd or supervisor leaves a setting at
 * its default with nothing in the log. The environment may be shared by workers with other options, so
 * a variable no name is near is not named: only a near miss.
 */

import { onlyNear } from '../../protocol/suggest.ts';

const PREFIX = 'NSQWORKER_';
/** What a duration key's variable does not end with: `requeueDelayMs` is NSQWORKER_REQUEUE_DELAY. */
const DURATION_SUFFIX = '_MS';

/** Variables the runner reads besides its settings' and the worker's options' (`--config`, the worker's names, the log's format, dev's console). */
const OTHER_VARIABLES = ['NSQWORKER_CONFIG', 'NSQWORKER_WORKERS_DIR', 'NSQWORKER_TOPIC', 'NSQWORKER_CHANNEL', 'NSQWORKER_LOG_FORMAT', 'NSQWORKER_CONSOLE_ADDRESS'];

/** A variable set but not read, and the one meant. */
export interface EnvironmentTypo {
  variable: string;
  meant: string;
}

/**
 * Each NSQWORKER_* variable of `env` that is not among `known` (the settings' and the worker's
 * options' variables) or OTHER_VARIABLES, and is a duration's variable with `_MS` or a typo from
 * exactly one of them, in the variables' order.
 */
export function environmentTypoList(env: NodeJS.ProcessEnv, known: readonly string[]): EnvironmentTypo[] {
  // Once each: the settings name NSQWORKER_TOPIC too, and a name twice would be two "closest" names.
  const names = [...new Set([...known, ...OTHER_VARIABLES])];
  // Compared without the prefix, which every name shares: a typo is judged on what follows it.
  const suffixes = names.map((name) => name.slice(PREFIX.length));
  const typos: EnvironmentTypo[] = [];
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith(PREFIX) || names.includes(variable)) continue;
    const withoutMs = variable.endsWith(DURATION_SUFFIX) ? variable.slice(0, -DURATION_SUFFIX.length) : undefined;
    if (withoutMs !== undefined && names.includes(withoutMs)) {
      typos.push({ variable, meant: withoutMs });
      continue;
    }
    const meant = onlyNear(variable.slice(PREFIX.length), suffixes);
    if (meant !== undefined) typos.push({ variable, meant: PREFIX + meant });
  }
  return typos;
}

/** `NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?` */
export function typoText({ variable, meant }: EnvironmentTypo): string {
  const durations = variable === meant + DURATION_SUFFIX ? ` (a duration's variable has no ${DURATION_SUFFIX}; it takes a duration such as 2s or 500ms)` : '';
  return `${variable} is set but not read; did you mean ${meant}?${durations}`;
}

/** {@link environmentTypoList} as warnings, one line each ({@link typoText}). */
export function environmentTypos(env: NodeJS.ProcessEnv, known: readonly string[]): string[] {
  return environmentTypoList(env, known).map(typoText);
}
