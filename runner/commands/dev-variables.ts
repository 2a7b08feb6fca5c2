/**
 * `dev`'s warning of NSQWORKER_* variables a typo away from one that the runner or a worker's options
 * read, as a run warns of them, and of those of settings dev makes itself (the health address). Said once the workers found at the start have started or failed, or
 * after STARTS_AWAITED_MS for one whose module never finishes loading; a worker loaded later (slowly,
 * or retried) makes more variables known, and a typo of one of those is said then. Each variable once.
 */
import type { Logger } from 'pino';
import { within } from '../../client/within.ts';
import { environmentTypoList, typoText } from '../config/environment-typos.ts';
import { RUN_FIELDS } from '../config/runner-settings.ts';

/** How long dev waits for its first workers to load before judging the environment's variables. */
const STARTS_AWAITED_MS = 3_000;

/** Runner settings dev sets itself, as it takes no flag for them: a variable for one is set in vain. */
const SET_BY_DEV: Readonly<Record<string, string>> = {
  NSQWORKER_HEALTH_ADDRESS: 'dev serves no /healthz or /metrics (a run of one worker does: nsqworker --topic T --channel C)',
  NSQWORKER_WATCH: 'dev always reloads a worker when its code changes',
};

export class MisspeltVariables {
  private readonly known = new Set(RUN_FIELDS.map((field) => field.env));
  private readonly said = new Set<string>();
  private judging = false;

  /** `waitMs`: how long to wait for the first workers before judging (default STARTS_AWAITED_MS). */
  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly waitMs = STARTS_AWAITED_MS,
  ) {}

  /** The variables a worker's options read, as it loads. */
  read(variables: Iterable<string>): void {
    for (const variable of variables) this.known.add(variable);
    if (this.judging) this.warn();
  }

  /** Warns once `starts` have settled (or `waitMs` passed), then as more workers load. */
  async warnAfter(starts: Promise<unknown>): Promise<void> {
    for (const [variable, why] of Object.entries(SET_BY_DEV)) {
      if (this.env[variable] !== undefined && this.env[variable] !== '') this.logger.warn(`${variable} is set but not read by dev: ${why}`);
    }
    await within(starts, this.waitMs);
    this.judging = true;
    this.warn();
  }

  private warn(): void {
    for (const typo of environmentTypoList(this.env, [...this.known])) {
      if (this.said.has(typo.variable)) continue;
      this.said.add(typo.variable);
      this.logger.warn(typoText(typo));
    }
  }
}
