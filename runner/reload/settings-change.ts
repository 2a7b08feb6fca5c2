/**
 * Under --watch, saving nsqworker.config.ts reloads the worker's code and its own options. The
 * runner's settings there are another matter: addresses, timeouts, the dedup queue size and the
 * like are fixed in the connections, queues and broker the run opened at start, and changing them
 * in place would mean tearing those down under running tasks. So each one that changes is named in
 * one warning (once per change, not at every later save) as taking effect at the next start.
 * maxInFlight is the exception: it is only the RDY count the consumers announce, which nsqd lets a
 * client change at any time, so it is applied at once. A setting given by a flag or NSQWORKER_*
 * outranks the file: a change there alters nothing, even after a restart, and is not mentioned.
 */
import type { Logger } from 'pino';
import { formatValue, type ValueOrigin } from '../config/layered-values.ts';
import { RUN_FIELDS } from '../config/runner-settings.ts';
import type { RunSettings } from '../config/settings.ts';

/** Settings that are not the runner's to change: they name the worker. */
const NOT_SETTINGS = new Set(['topic', 'channel']);

export class RunnerSettingsChanges {
  /** Per setting, the value in effect or last announced, as JSON. */
  private readonly known = new Map<string, string>();

  constructor(
    settings: RunSettings,
    private readonly origins: ReadonlyMap<string, ValueOrigin>,
    /** The config file as messages name it. */
    private readonly configFile: string,
    private readonly setMaxInFlight: (maxInFlight: number) => void,
    private readonly log: Logger,
  ) {
    for (const field of RUN_FIELDS) this.known.set(field.key, JSON.stringify((settings as Record<string, unknown>)[field.key]));
  }

  /** A reload loaded the config file's runner `settings` (validated; absent keys take their defaults). */
  configLoaded(settings: Readonly<Record<string, unknown>>): void {
    for (const field of RUN_FIELDS) {
      if (NOT_SETTINGS.has(field.key)) continue;
      const origin = this.origins.get(field.key)?.kind;
      if (origin === 'env' || origin === 'flag') continue;
      const value = settings[field.key] ?? field.defaultValue;
      const text = JSON.stringify(value);
      if (text === this.known.get(field.key)) continue;
      this.known.set(field.key, text);
      const where = `${this.configFile}: ${field.key} ${formatValue(field, value)}`;
      if (field.key === 'maxInFlight' && typeof value === 'number') {
        this.setMaxInFlight(value);
        this.log.info({ setting: field.key, value }, `${where}: applied to every task now`);
        continue;
      }
      this.log.warn({ setting: field.key, value }, `${where}: changed in the config file; it takes effect when the worker restarts`);
    }
  }
}
