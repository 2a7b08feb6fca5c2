/**
 * The root command's help as `nsqworker --topic T --channel C --help` prints it: two columns, every
 * description (and the value in effect, when a field has none) starting at one column, --config too.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatRunHelp } from '../../runner/commands/run-help.ts';
import { fieldsOf } from '../../runner/config/schema-flags.ts';

describe('the run help', () => {
  it('starts every second column at one place, whether or not the option has a description', () => {
    const runner = fieldsOf(z.object({ maxInFlight: z.number().int().default(1).describe('messages in flight'), watch: z.boolean().default(false).describe('reload on save') }));
    const worker = fieldsOf(z.object({ limit: z.number().default(3), name: z.string(), tag: z.string().optional(), verbose: z.boolean().default(false).describe('say more') }));
    const help = formatRunHelp(runner, { name: 't/c', fields: worker, tasks: ['send'] });
    const lines = help.split('\n');
    const row = (flag: string): string => lines.find((line) => line.startsWith(`  ${flag}`))!;

    expect(row('--max-in-flight <number>')).toBe('  --max-in-flight <number>  messages in flight (default: 1)  [NSQWORKER_MAX_IN_FLIGHT]');
    expect(row('--watch')).toBe('  --watch                   reload on save (default: false)  [NSQWORKER_WATCH]');
    expect(lines).toContain('  The log is pretty on a terminal, JSON lines otherwise; NSQWORKER_LOG_FORMAT=json|pretty chooses.');
    expect(row('--config <file>')).toBe('  --config <file>           config file (default: nsqworker.config.ts)  [NSQWORKER_CONFIG]');

    expect(row('--limit <number>')).toBe('  --limit <number>  (default: 3)  [NSQWORKER_LIMIT]');
    expect(row('--name <string>')).toBe('  --name <string>   (required; not given)  [NSQWORKER_NAME]');
    expect(row('--tag <string>')).toBe('  --tag <string>    [NSQWORKER_TAG]');
    expect(row('--verbose')).toBe('  --verbose         say more (default: false)  [NSQWORKER_VERBOSE]');
  });
});
