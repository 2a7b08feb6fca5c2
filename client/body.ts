/** Turning what users publish into bytes, and the checks nsqd would otherwise answer fatally. */
import { isValidTopicName } from '../protocol/names.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';

/**
 * A body: bytes as they are, a string as UTF-8, anything else as JSON (`JSON.stringify`: an object of
 * any interface or class, an array, a number, a boolean, null). A value JSON cannot write (a
 * function, a cycle) throws NsqClientError E_INVALID_BODY.
 */
export type PublishBody = Buffer | Uint8Array | string | number | boolean | null | object;

export function toBodyBuffer(body: PublishBody | undefined, maxBytes: number): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(body)) bytes = body;
  else if (body instanceof Uint8Array) bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else {
    let json: string | undefined;
    try {
      json = JSON.stringify(body);
    } catch (cause) {
      throw new NsqClientError(ClientErrorCode.InvalidBody, `body is not JSON-serialisable: ${(cause as Error).message}`, { cause });
    }
    if (json === undefined) throw new NsqClientError(ClientErrorCode.InvalidBody, `body of type ${typeof body} is not JSON-serialisable`);
    bytes = Buffer.from(json, 'utf8');
  }
  if (bytes.length === 0) throw new NsqClientError(ClientErrorCode.InvalidBody, 'body is empty: nsqd refuses empty messages');
  if (bytes.length > maxBytes) {
    throw new NsqClientError(ClientErrorCode.BodyTooLarge, `body of ${bytes.length} bytes is over the ${maxBytes}-byte limit`);
  }
  return bytes;
}

export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || !isValidTopicName(topic)) {
    throw new NsqClientError(ClientErrorCode.InvalidTopic, `invalid topic name ${JSON.stringify(topic)}: ^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes`);
  }
}
