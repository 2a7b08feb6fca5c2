/**
 * Fuzz target: nsqlookupd's TCP protocol V1 (broker/lookupd/tcp-protocol.ts) on one in-process
 * connection over a fake socket, with a real registration database. Every reply is a whole sized
 * payload; an unexpected error inside the connection (it logs "failed to handle command") is a
 * crash; only valid names are registered; and once the connection closes, the peer is registered
 * under no key.
 */
import type { Logger } from 'pino';
import { LookupConnection } from '../../../../broker/lookupd/tcp-protocol.ts';
import { RegistrationDb } from '../../../../broker/lookupd/registry.ts';
import { isValidChannelName, isValidTopicName } from '../../../../protocol/names.ts';
import { MAGIC_V1 } from '../../../../protocol/commands.ts';
import { encodeSizedPayload } from '../../../../protocol/frames.ts';
import { seededRandom } from '../../prng.ts';
import { randomCommandLine, validSession } from '../corpus-lookupd.ts';
import { FakeSocket, RecordingLogger } from '../fake-socket.ts';
import { cutPoints, invariant, type FuzzTarget } from '../target.ts';

/** The replies, split as `[int32 size][data]`; false when they do not split evenly. */
function wholeReplies(written: Buffer[]): boolean {
  const all = Buffer.concat(written);
  let offset = 0;
  while (offset + 4 <= all.length) {
    const size = all.readInt32BE(offset);
    if (size < 0) return false; // -4 would never move on
    offset += 4 + size;
  }
  return offset === all.length;
}

export function lookupdV1Target(): FuzzTarget {
  return {
    name: 'lookupd-v1',
    maxLength: 4096,
    coverage: /\/broker\/lookupd\/(tcp-protocol|identify-body|registry)\.ts|\/protocol\/(command-parser|names)\.ts/,
    dictionary: ['  V1', 'IDENTIFY\n', 'REGISTER ', 'UNREGISTER ', 'PING\n', '#ephemeral', '"tcp_port":', '"broadcast_address":', '"version":"1.3.0"', '\n', ' '],
    seeds() {
      const random = seededRandom(3);
      const seeds = [validSession()];
      for (let i = 0; i < 40; i++) {
        const lines = Array.from({ length: 1 + Math.floor(random() * 8) }, () => randomCommandLine(random)).join('');
        seeds.push(Buffer.concat([i % 2 === 0 ? validSession() : MAGIC_V1, Buffer.from(lines)]));
      }
      return seeds;
    },
    async run(input) {
      const socket = new FakeSocket();
      const logger = new RecordingLogger();
      const db = new RegistrationDb();
      const identifyReply = encodeSizedPayload('{"tcp_port":4160}');
      const connection = new LookupConnection(socket.socket, { db, logger: logger as unknown as Logger, identifyReply, now: () => 1 });
      for (const chunk of cutPoints(input, 5)) {
        if (socket.destroyed) break;
        socket.emit('data', chunk);
      }
      const peerId = `${socket.remoteAddress}:${socket.remotePort}`;
      for (const { registration } of db.allEntries()) {
        invariant(registration.category === 'client' || isValidTopicName(registration.key), `registered topic ${registration.key}`);
        invariant(registration.category !== 'channel' || isValidChannelName(registration.subKey), `registered channel ${registration.subKey}`);
      }
      connection.destroy();
      await socket.closed();
      const failed = logger.errors.find((entry) => entry.msg === 'failed to handle command');
      if (failed !== undefined) throw failed.err;
      invariant(wholeReplies(socket.written), 'a reply is not a whole sized payload');
      invariant(db.lookupRegistrations(peerId).length === 0, 'the closed peer is still registered');
    },
    expected: () => false,
    close() {},
  };
}
