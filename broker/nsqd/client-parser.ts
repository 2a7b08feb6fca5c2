/**
 * The command parser of one client connection, with nsqd's body limits: `--max-msg-size` for PUB
 * and DPUB, `--max-body-size` for MPUB, IDENTIFY and AUTH (nsqd/protocol_v2.go).
 */
import { CommandParser, type Command } from '../../protocol/command-parser.ts';
import type { BrokerOptions } from './options.ts';

/**
 * `onCommand` gets each command read, `onBodyLine` each body command's line before its body; each
 * returns whether parsing goes on.
 */
export function commandParserFor(
  options: Pick<BrokerOptions, 'maxMsgSize' | 'maxBodySize'>,
  onCommand: (command: Command) => boolean,
  onBodyLine: (command: Command) => boolean,
): CommandParser {
  const { maxMsgSize, maxBodySize } = options;
  return new CommandParser(
    {
      bodyLimits: new Map([
        ['PUB', maxMsgSize],
        ['DPUB', maxMsgSize],
        ['MPUB', maxBodySize],
        ['IDENTIFY', maxBodySize],
        ['AUTH', maxBodySize],
      ]),
      // The connection's sequencer copies the commands it queues.
      reuseFinCommand: true,
      onBodyLine,
    },
    onCommand,
  );
}
