/**
 * What the command line says of a boolean flag before the worker's flags are known (run-argv.ts):
 * read as parseRunArgv reads it, the last mention counting; a guess that never throws.
 */
import { describe, expect, it } from 'vitest';
import { booleanFlagAhead, parseRunArgv, runnerFlagsAhead } from '../../runner/config/run-argv.ts';
import { z } from 'zod';
import { coerce, fieldsOf, isTrueWord } from '../../runner/config/schema-flags.ts';
import { RUN_FIELDS } from '../../runner/config/runner-settings.ts';

describe('booleanFlagAhead', () => {
  const cases: Array<[string[], boolean | undefined]> = [
    [['--topic', 'log', '--channel', 'pv'], undefined],
    [['--watch'], true],
    [['--watch', '--topic', 'log'], true],
    [['--watch', 'false'], false],
    [['--watch', 'NO'], false],
    [['--watch', 'yes'], true],
    [['--watch', 'On'], true],
    [['--watch=off'], false],
    [['--watch=0'], false],
    [['--watch=true'], true],
    [['--no-watch'], false],
    [['--watch', '--no-watch'], false],
    [['--no-watch', '--watch=1'], true],
    // A value of another flag is no mention.
    [['--topic', 'watch'], undefined],
    [['--watcher'], undefined],
  ];
  it.each(cases)('%j → %s, as the run reads it', (args, expected) => {
    expect(booleanFlagAhead(args, 'watch')).toBe(expected);
    const known = args.filter((arg) => arg !== '--watcher');
    const watch = parseRunArgv(known, RUN_FIELDS, { valueFlags: ['config'], switches: ['help'] }).watch;
    const last = Array.isArray(watch) ? watch.at(-1) : watch;
    expect(last === undefined ? undefined : isTrueWord(String(last))).toBe(expected);
  });

  it('never throws on what the run refuses', () => {
    expect(booleanFlagAhead(['-w', '--watch=maybe', 'stray'], 'watch')).toBe(false);
  });
});

describe('runnerFlagsAhead', () => {
  it("reads the runner's flags as the run does, passing over every other flag with the word after it", () => {
    const args = ['--topic', 'log', '--label', 'x', '--max-in-flight', '5', '--dry-run', '--watch', 'no', '--offset', '-5', '--config', 'c.ts', '--max-attempts=3', '--max-attempts', '4'];
    expect(runnerFlagsAhead(args, RUN_FIELDS)).toEqual({ topic: 'log', maxInFlight: '5', watch: 'no', maxAttempts: ['3', '4'] });
  });

  it('never throws on what the run refuses: a missing value, a stray word, a short flag', () => {
    expect(runnerFlagsAhead(['-x', 'stray', '--label', '--max-in-flight', '--topic'], RUN_FIELDS)).toEqual({});
  });
});

describe('isTrueWord', () => {
  it('reads true/1/yes/on in any case as true, other words as false, nothing as undefined', () => {
    expect([isTrueWord('TRUE'), isTrueWord('1'), isTrueWord('Yes'), isTrueWord('false'), isTrueWord('On'), isTrueWord('maybe'), isTrueWord(''), isTrueWord(undefined)]).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
      undefined,
      undefined,
    ]);
  });
});

describe('a word after a bare boolean flag', () => {
  it('is named as given to a flag that takes no value, with the ways to turn it off', () => {
    const parse = (args: string[]) => () => parseRunArgv(args, RUN_FIELDS, { valueFlags: ['config'], switches: ['help'] });
    expect(parse(['--watch', 'maybe'])).toThrow('unexpected argument "maybe" after --watch, which takes no value: alone it is true; --watch=false or --no-watch turns it off');
    // Elsewhere the general rule.
    expect(parse(['--topic', 'log', 'stray'])).toThrow('unexpected argument "stray": flags are --name value');
    expect(parse(['--watch', '--topic', 'log', 'stray'])).toThrow('unexpected argument "stray": flags are --name value');
  });
});

describe("a boolean option's word from a flag or variable", () => {
  const [dryRun] = fieldsOf(z.object({ dryRun: z.boolean().default(false) }));
  it('is true/1/yes/on or false/0/no/off in any case; another word names them all', () => {
    expect(['TRUE', '1', 'yes', 'on'].map((word) => coerce(dryRun!, word, 'NSQWORKER_DRY_RUN'))).toEqual([true, true, true, true]);
    expect(['False', '0', 'NO', 'off'].map((word) => coerce(dryRun!, word, 'NSQWORKER_DRY_RUN'))).toEqual([false, false, false, false]);
    expect(() => coerce(dryRun!, 'maybe', 'NSQWORKER_DRY_RUN')).toThrow('NSQWORKER_DRY_RUN "maybe": expected true or false (or 1/0, yes/no, on/off)');
  });
});
