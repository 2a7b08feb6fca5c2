/**
 * nsqlookupd V1 traffic for fuzzing: a valid nsqd session and random command lines. Shared by the
 * seeded lookupd fuzz test (test/unit/lookupd-fuzz.test.ts) and the coverage-guided fuzzer's seeds.
 */
import { MAGIC_V1 } from '../../../protocol/commands.ts';
import { identifyFrame, identityBody } from '../../integration/lookupd-helpers.ts';

const NAMES = ['t', 'topic_1', 'ch.2', 'e#ephemeral', '', 'bad name', 'x'.repeat(64), 'y'.repeat(65), '*', 'é', 'a\u0000b', '#ephemeral'];
const VERBS = ['PING', 'IDENTIFY', 'REGISTER', 'UNREGISTER', 'FOO', '', 'register', 'PING PING'];

/** A command line of lookupd's verbs (and some others) with good and bad names. */
export function randomCommandLine(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const verb = pick(VERBS);
  const params = Array.from({ length: Math.floor(random() * 4) }, () => pick(NAMES));
  const separator = pick([' ', ' ', '  ', '\t']);
  return [verb, ...params].join(separator) + pick(['\n', '\r\n', ' \n', '\n\n']);
}

/** A valid nsqd session, as bytes. */
export function validSession(): Buffer {
  return Buffer.concat([
    MAGIC_V1,
    identifyFrame(Buffer.from(JSON.stringify(identityBody()))),
    Buffer.from('REGISTER t c\nPING\nREGISTER e#ephemeral x#ephemeral\nUNREGISTER t c\nUNREGISTER e#ephemeral\n'),
  ]);
}
