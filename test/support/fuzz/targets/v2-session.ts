/**
 * Fuzz target: a whole protocol V2 session on the broker (broker/nsqd/client-connection.ts,
 * protocol-v2.ts, publish-commands.ts, identify.ts, the channel) over a fake socket, on a real Nsqd
 * in a temporary data path. The input is what a client sends after the magic; the client then ends
 * its side. Nothing escapes the socket's `data` handler (in a server that is the process's end);
 * every error a command handler throws is a ProtocolError (anything else would reach the client as
 * an E_INVALID made from a bug); nothing is logged as an error; the frames written are well formed
 * and none follows a fatal error; and once the connection has closed, no channel lists the client
 * or holds a message in flight for it.
 */
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { ClientConnection, type CommandProtocol } from '../../../../broker/nsqd/client-connection.ts';
import { HeartbeatWheel } from '../../../../broker/nsqd/heartbeats.ts';
import { Nsqd } from '../../../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../../../broker/nsqd/options.ts';
import { PROTOCOL_V2 } from '../../../../broker/nsqd/protocol-v2.ts';
import type { Command } from '../../../../protocol/command-parser.ts';
import { ProtocolError, isFatalErrorCode } from '../../../../protocol/errors.ts';
import { FrameDecoder, FrameType } from '../../../../protocol/frames.ts';
import { seededRandom } from '../../prng.ts';
import { Fuzz, command } from '../corpus-broker.ts';
import { Random, validCommandStream } from '../corpus-v2.ts';
import { FakeSocket, RecordingLogger } from '../fake-socket.ts';
import { cutPoints, invariant, scratchDir, type FuzzTarget } from '../target.ts';

/** Topics are deleted every so many sessions, so the broker's memory and disk stay small. */
const RESET_EVERY = 200;

/** The frames written, checked: known types, and nothing after a fatal error. */
function checkFrames(written: Buffer[]): void {
  let fatal: string | undefined;
  const decoder = new FrameDecoder((type, data) => {
    invariant(fatal === undefined, `a frame after the fatal error ${fatal}`);
    invariant(type === FrameType.Response || type === FrameType.Error || type === FrameType.Message, `frame type ${type}`);
    if (type === FrameType.Error) {
      const code = data.toString('latin1').split(' ')[0]!;
      if (isFatalErrorCode(code)) fatal = code;
    }
  }, 1 << 24);
  for (const chunk of written) decoder.push(chunk);
  invariant(decoder.bufferedBytes === 0, 'a frame cut short');
}

export function v2SessionTarget(): FuzzTarget {
  const dataPath = scratchDir('fuzz-session-');
  const logger = new RecordingLogger();
  const options = BrokerOptionsSchema.parse({ dataPath, maxMsgSize: 1024, maxBodySize: 8192, memQueueSize: 100, maxRdyCount: 50 });
  const nsqd = new Nsqd(options, logger as unknown as Logger);
  nsqd.load();
  const heartbeats = new HeartbeatWheel();
  let sessions = 0;
  let unexpected: unknown;
  // Every handler error must be one of nsqd's answers.
  const note = (error: unknown): never => {
    if (!(error instanceof ProtocolError)) unexpected ??= error;
    throw error;
  };
  const checkedProtocol: CommandProtocol = {
    execute(client: ClientConnection, parsed: Command): Promise<void> | void {
      try {
        return PROTOCOL_V2.execute(client, parsed)?.catch(note);
      } catch (error) {
        return note(error);
      }
    },
    checkBodyLine(client: ClientConnection, parsed: Command): void {
      try {
        PROTOCOL_V2.checkBodyLine(client, parsed);
      } catch (error) {
        note(error);
      }
    },
  };
  return {
    name: 'v2-session',
    maxLength: 4096,
    coverage: /\/broker\/nsqd\/(client-connection|command-sequencer|protocol-v2|publish-commands|identify|output-buffer|channel|topic)\.ts/,
    dictionary: ['IDENTIFY\n', 'SUB fz c\n', 'RDY 10\n', 'PUB fz\n', 'MPUB fz\n', 'DPUB fz 10\n', 'FIN ', 'REQ ', 'TOUCH ', 'CLS\n', 'NOP\n', 'AUTH\n', '{"feature_negotiation":true}', '\0\0\0\x05'],
    seeds() {
      const random = new Random(9);
      const fuzz = new Fuzz(seededRandom(10));
      const seeds: Buffer[] = [Buffer.from('SUB fz c\nRDY 5\nPUB fz\n\0\0\0\x05hello\nNOP\nCLS\n')];
      for (let i = 0; i < 30; i++) seeds.push(validCommandStream(random, 256));
      for (let i = 0; i < 50; i++) seeds.push(Buffer.concat(Array.from({ length: 1 + fuzz.int(8) }, () => command(fuzz))).subarray(0, 4096));
      return seeds;
    },
    async run(input) {
      if (++sessions % RESET_EVERY === 0) for (const name of [...nsqd.topics.keys()]) nsqd.deleteTopic(name);
      unexpected = undefined;
      const socket = new FakeSocket();
      const client = new ClientConnection(socket.socket, nsqd, checkedProtocol, () => {}, heartbeats);
      for (const chunk of cutPoints(input, 4)) socket.emit('data', chunk);
      socket.emit('end');
      await socket.closed();
      // Settle what the close set going (requeues, a deflate stream's last bytes).
      await new Promise((resolve) => setImmediate(resolve));
      if (unexpected !== undefined) throw unexpected;
      const failed = logger.errors.shift();
      if (failed !== undefined) throw failed.err ?? new Error(failed.msg);
      if (!client.transport.snappy && !client.transport.deflate) checkFrames(socket.written);
      invariant(client.inFlightCount === 0, `${client.inFlightCount} messages in flight after the close`);
      for (const topic of nsqd.topics.values()) {
        for (const channel of topic.channels.values()) {
          invariant(!channel.subscribers.includes(client), `${topic.name}:${channel.name} still lists the client`);
          for (const message of channel.inFlightMessages()) invariant(message.owner !== client, 'a message in flight for a closed client');
        }
      }
    },
    expected: () => false,
    close() {
      nsqd.persistAndClose();
      rmSync(dataPath, { recursive: true, force: true });
    },
  };
}
