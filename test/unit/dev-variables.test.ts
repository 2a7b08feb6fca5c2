/**
 * dev's warning of misspelt NSQWORKER_* variables (runner/commands/dev-variables.ts): a typo of a
 * worker option's variable is said even when that worker loads after the wait for the first ones.
 */
import { expect, it } from 'vitest';
import { MisspeltVariables } from '../../runner/commands/dev-variables.ts';

function warnings(): { logger: { warn: (message: string) => void }; said: string[] } {
  const said: string[] = [];
  return { logger: { warn: (message: string) => void said.push(message) }, said };
}

const ENV = { NSQWORKER_MAX_INFLIGHT: '3', NSQWORKER_SMTPHOST: 'smtp.example' };

it("says a typo of a worker option's variable once that worker loads, even after the wait", async () => {
  const { logger, said } = warnings();
  const variables = new MisspeltVariables(logger, ENV, 10);
  // A worker whose module never finishes loading holds the wait to its end.
  await variables.warnAfter(new Promise(() => {}));
  expect(said).toEqual(['NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?']);
  variables.read(['NSQWORKER_SMTP_HOST']);
  variables.read(['NSQWORKER_SMTP_HOST']);
  expect(said).toEqual([
    'NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?',
    'NSQWORKER_SMTPHOST is set but not read; did you mean NSQWORKER_SMTP_HOST?',
  ]);
});

it('says nothing before the first workers have loaded, then every typo at once', async () => {
  const { logger, said } = warnings();
  const variables = new MisspeltVariables(logger, ENV, 60_000);
  let loaded!: () => void;
  const starts = new Promise<void>((resolve) => (loaded = resolve));
  const judged = variables.warnAfter(starts);
  variables.read(['NSQWORKER_SMTP_HOST']);
  expect(said).toEqual([]);
  loaded();
  await judged;
  expect(said).toHaveLength(2);
});

it('says at once that a variable of a setting dev makes itself is not read: the health address, watch', async () => {
  const { logger, said } = warnings();
  const variables = new MisspeltVariables(logger, { NSQWORKER_HEALTH_ADDRESS: '127.0.0.1:4199', NSQWORKER_WATCH: 'false', NSQWORKER_MAX_IN_FLIGHT: '2' }, 60_000);
  void variables.warnAfter(new Promise(() => {}));
  expect(said).toEqual([
    'NSQWORKER_HEALTH_ADDRESS is set but not read by dev: dev serves no /healthz or /metrics (a run of one worker does: nsqworker --topic T --channel C)',
    'NSQWORKER_WATCH is set but not read by dev: dev always reloads a worker when its code changes',
  ]);
});
