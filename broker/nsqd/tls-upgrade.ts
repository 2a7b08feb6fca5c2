/**
 * The stream upgrades after an IDENTIFY answer, in nsqd v1.3.0's order (`protocolV2.IDENTIFY`,
 * `nsqd/protocol_v2.go`): the JSON answer goes out on the current stream; then TLS (handshake within
 * 5s, then `OK` over TLS), then snappy (`OK` as the first framed bytes), then deflate (`OK`
 * compressed). A failed step is nsqd's fatal `E_IDENTIFY_FAILED IDENTIFY failed <reason>`.
 */
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import type { ClientConnection } from './client-connection.ts';
import type { NegotiatedFeatures } from './identify.ts';

const failed = (error: unknown): ProtocolError =>
  new ProtocolError(ErrorCode.IdentifyFailed, `IDENTIFY failed ${error instanceof Error ? error.message : String(error)}`, { cause: error });

/** Whether an IDENTIFY answer is followed by an upgrade. */
export function hasUpgrade(features: NegotiatedFeatures): boolean {
  return features.tls || features.snappy || features.deflate;
}

/**
 * Runs the negotiated upgrades once the JSON answer is queued. Commands read ahead of the upgrade are
 * dropped (see {@link ClientConnection.restartParser}); the next command is read from the new stream.
 */
export async function upgradeClient(client: ClientConnection, features: NegotiatedFeatures): Promise<void> {
  const { transport, output, nsqd } = client;
  client.upgrading = true;
  output.flush();
  client.restartParser();
  try {
    if (features.tls) {
      nsqd.logger.info({ client: client.remoteAddress }, 'upgrading connection to TLS');
      const tls = nsqd.tls;
      if (tls === undefined) throw new Error('TLS is not configured');
      try {
        await transport.upgradeTls(tls);
      } catch (error) {
        throw failed(error);
      }
      client.sendResponse('OK');
      output.flush();
    }
    if (features.snappy) {
      nsqd.logger.info({ client: client.remoteAddress }, 'upgrading connection to snappy');
      transport.upgradeSnappy();
      client.sendResponse('OK');
      output.flush();
    }
    if (features.deflate) {
      nsqd.logger.info({ client: client.remoteAddress, level: features.deflateLevel }, 'upgrading connection to deflate');
      transport.upgradeDeflate(features.deflateLevel);
      client.sendResponse('OK');
      output.flush();
    }
  } finally {
    client.upgrading = false;
  }
}
