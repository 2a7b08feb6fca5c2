/**
 * The `workers` section of nsqworker.config.ts names workers by `<topic>/<channel>`. A key that
 * matches no worker file (`'log/pageviews'` for `log/pageview`) would otherwise be ignored, and its
 * values silently never applied.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { nearMiss } from '../missing-worker.ts';
import { isDirectory, type WorkerFile } from '../worker/discover.ts';
import { displayPath, type NsqworkerConfig } from './config-file.ts';
import { didYouMean } from './suggest.ts';

/**
 * Throws E_CONFIG_INVALID for the first `workers` key that names no worker found. A file that looks
 * meant for that worker (misnamed, or in the wrong folder: missing-worker.ts) is the fix by itself
 * and is said instead of the list: the key is most likely right and the file wrong. With no folder
 * `workersDir` at all, nothing: the missing folder (run elsewhere, a wrong --workers-dir) is the error
 * the caller says, not the config's keys.
 */
export function checkConfigWorkers(config: NsqworkerConfig, configPath: string | undefined, found: readonly WorkerFile[], workersDir: string): void {
  if (!isDirectory(workersDir)) return;
  const known = found.map((file) => `${file.topic}/${file.channel}`);
  for (const key of Object.keys(config.workers ?? {})) {
    if (known.includes(key)) continue;
    const file = configPath === undefined ? 'config' : displayPath(configPath);
    const [topic, channel] = key.split('/');
    const misnamed = topic === undefined || channel === undefined ? undefined : nearMiss(workersDir, topic, channel);
    if (misnamed !== undefined) {
      throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: workers['${key}'] matches no worker: ${misnamed.path} ${misnamed.fix} ${misnamed.target}`);
    }
    const listed = known.length === 0 ? `no workers under ${workersDir}/` : `known workers: ${known.join(', ')}`;
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: workers['${key}'] matches no worker${didYouMean(key, known)} (${listed})`);
  }
}
