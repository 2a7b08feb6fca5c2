/**
 * The `workers` section of nsqworker.config.ts names workers by `<topic>/<channel>`. A key that
 * matches no worker file (`'log/pageviews'` for `log/pageview`) would otherwise be ignored, and its
 * values silently never applied.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { nearMiss } from '../missing-worker.ts';
import { isDirectory, type WorkerFile } from '../worker/discover.ts';
import { displayPath, type NsqworkerConfig } from './config-file.ts';
import { didYouMean } from '../../protocol/suggest.ts';

/**
 * The `workers` keys that name no worker found, each as a warning to log; throws E_CONFIG_INVALID
 * for one that looks meant for a worker that is there, whose values would otherwise silently apply
 * to nothing: a typo of a known worker's key (`'log/pageviews'`), or a key whose worker file is
 * misnamed or misplaced (missing-worker.ts: the file and its fix are said instead of the list). A key
 * of no worker at all (one removed, its settings left behind) is only a warning: one worker's
 * leftover must not stop every other worker's start. With no folder `workersDir` at all, nothing:
 * the missing folder (run elsewhere, a wrong --workers-dir) is the error the caller says.
 */
export function checkConfigWorkers(config: NsqworkerConfig, configPath: string | undefined, found: readonly WorkerFile[], workersDir: string): string[] {
  if (!isDirectory(workersDir)) return [];
  const known = found.map((file) => `${file.topic}/${file.channel}`);
  const warnings: string[] = [];
  for (const key of Object.keys(config.workers ?? {})) {
    if (known.includes(key)) continue;
    const file = configPath === undefined ? 'config' : displayPath(configPath);
    const [topic, channel] = key.split('/');
    const misnamed = topic === undefined || channel === undefined ? undefined : nearMiss(workersDir, topic, channel);
    if (misnamed !== undefined) {
      throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: workers['${key}'] matches no worker: ${misnamed.path} ${misnamed.fix} ${misnamed.target}`);
    }
    const listed = known.length === 0 ? `no workers under ${workersDir}/` : `known workers: ${known.join(', ')}`;
    const meant = didYouMean(key, known);
    if (meant !== '') throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: workers['${key}'] matches no worker${meant} (${listed})`);
    warnings.push(`${file}: workers['${key}'] matches no worker (${listed}): its values apply to nothing; remove the key if that worker is gone`);
  }
  return warnings;
}
