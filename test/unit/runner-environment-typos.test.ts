import { describe, expect, it } from 'vitest';
import { environmentTypos } from '../../runner/config/environment-typos.ts';

const KNOWN = ['NSQWORKER_MAX_IN_FLIGHT', 'NSQWORKER_MAX_ATTEMPTS', 'NSQWORKER_LOG_LEVEL', 'NSQWORKER_SMTP_PORT'];

describe('NSQWORKER_* variables a typo from one a run reads', () => {
  it('are named with the variable meant; known ones, far ones and other prefixes are not', () => {
    const env = {
      NSQWORKER_MAX_INFLIGHT: '5',
      NSQWORKER_LOGLEVEL: 'debug',
      NSQWORKER_CHANEL: 'c',
      NSQWORKER_MAX_IN_FLIGHT: '3',
      // Another worker's option, in a shared environment: near nothing here.
      NSQWORKER_BILLING_API_KEY: 'k',
      MAX_INFLIGHT: '5',
    };
    expect(environmentTypos(env, KNOWN)).toEqual([
      'NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?',
      'NSQWORKER_LOGLEVEL is set but not read; did you mean NSQWORKER_LOG_LEVEL?',
      'NSQWORKER_CHANEL is set but not read; did you mean NSQWORKER_CHANNEL?',
    ]);
  });

  it('names the variable meant when the run reads it as a setting too (NSQWORKER_CHANNEL)', () => {
    expect(environmentTypos({ NSQWORKER_CHANEL: 'c' }, [...KNOWN, 'NSQWORKER_TOPIC', 'NSQWORKER_CHANNEL'])).toEqual([
      'NSQWORKER_CHANEL is set but not read; did you mean NSQWORKER_CHANNEL?',
    ]);
  });

  it('says nothing of a variable as near two names as each other', () => {
    // LOG_LEVEL_X is one edit from LOG_LEVEL_Y and from LOG_LEVEL_Z: which was meant cannot be told.
    const known = [...KNOWN, 'NSQWORKER_LOG_LEVEL_Y', 'NSQWORKER_LOG_LEVEL_Z'];
    expect(environmentTypos({ NSQWORKER_LOG_LEVEL_X: 'x' }, known)).toEqual([]);
    expect(environmentTypos({ NSQWORKER_SMTP_POR: '1' }, known)).toEqual(['NSQWORKER_SMTP_POR is set but not read; did you mean NSQWORKER_SMTP_PORT?']);
  });

  it("names a duration's variable written with its key's _MS, with what it takes", () => {
    const known = [...KNOWN, 'NSQWORKER_WORK', 'NSQWORKER_REQUEUE_DELAY'];
    expect(environmentTypos({ NSQWORKER_WORK_MS: '2s', NSQWORKER_REQUEUE_DELAY_MS: '5s', NSQWORKER_WORK: '1s' }, known)).toEqual([
      "NSQWORKER_WORK_MS is set but not read; did you mean NSQWORKER_WORK? (a duration's variable has no _MS; it takes a duration such as 2s or 500ms)",
      "NSQWORKER_REQUEUE_DELAY_MS is set but not read; did you mean NSQWORKER_REQUEUE_DELAY? (a duration's variable has no _MS; it takes a duration such as 2s or 500ms)",
    ]);
  });
});
