/**
 * The `workers` section of nsqworker.config.ts names workers by `<topic>/<channel>`. A key that
 * matches no worker file (`'log/pageviews'` for `log/pageview`) would otherwise be ignored, and its
 * values silently never applied.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { isDirectory, type WorkerFile } from '../worker/discover.ts';
import { displayPath, type NsqworkerConfig } from './config-file.ts';
import { didYouMean } from './suggest.ts';

/**
 * Throws E_CONFIG_INVALID for the first `workers` key that names no worker found. With no folder
 * `workersDir` at all, nothing: the missing folder (run elsewhere, a wrong --workers-dir) is the error
 * the caller says, not the config's keys.
 */
export function checkConfigWorkers(config: NsqworkerConfig, configPath: string | undefined, found: readonly WorkerFile[], workersDir: string): void {
  if (!isDirectory(workersDir)) return;
  const known = found.map((file) => `${file.topic}/${file.channel}`);
  for (const key of Object.keys(config.workers ?? {})) {
    if (known.includes(key)) continue;
    const file = configPath === undefined ? 'config' : displayPath(configPath);
    const listed = known.length === 0 ? `no workers under ${workersDir}/` : `known workers: ${known.join(', ')}`;
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: workers['${key}'] matches no worker${didYouMean(key, known)} (${listed})`);
  }
}
