/**
 * A TLS failure in words a user acts on. OpenSSL's own text is one of its error strings
 * (`80CC2C14057F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:
 * ../deps/openssl/…/rec_layer_s3.c:1601:SSL alert number 42` and a newline), and an nsqd that refuses
 * this client's certificate says so only by such an alert, which with TLS 1.3 arrives after the
 * handshake, on the first read: it read as a closed connection. go-nsq says `remote error: tls:
 * bad certificate`; here it is E_TLS_FAILED with the alert and what nsqd wants.
 */
import { ClientErrorCode, NsqClientError } from './errors.ts';
import type { TlsOption } from './options.ts';

/** The alerts a server sends about the client's certificate (RFC 8446 6.2): missing, unknown CA, bad, expired, revoked. */
const CLIENT_CERTIFICATE_ALERT = /ALERT_(?:BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED)$/;

/** What an alert about the client's certificate means, by whether this client sent one. */
function clientCertificateWanted(sent: boolean): string {
  return sent
    ? "nsqd refused this client's certificate: it runs with --tls-client-auth-policy and wants one signed by its --tls-root-ca-file"
    : 'nsqd wants a client certificate (it runs with --tls-client-auth-policy) and none was sent: tls needs a cert and key signed by its --tls-root-ca-file';
}

/** Whether the `tls` option gives a client certificate. */
function sendsCertificate(tls: TlsOption): boolean {
  return typeof tls === 'object' && tls.cert !== undefined;
}

/** Whether `error` is OpenSSL's (its code `ERR_SSL_…`, as Node gives it), rather than the socket's. */
function isTlsError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}

/**
 * `error`'s reason on one line: OpenSSL's reason (`sslv3 alert bad certificate`) where it gives one,
 * else its message's first line; for an alert about the client's certificate, what nsqd wants, by
 * whether `tls` (the connection's option) sent one.
 */
export function tlsFailureReason(error: Error, tls: TlsOption): string {
  const reason = (error as { reason?: unknown }).reason;
  const text = typeof reason === 'string' && reason !== '' ? reason : error.message.trim().split('\n', 1)[0]!;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && CLIENT_CERTIFICATE_ALERT.test(code) ? `${clientCertificateWanted(sendsCertificate(tls))} (${text})` : text;
}

/**
 * The connection's error for a failure of its socket: E_TLS_FAILED for OpenSSL's (an alert from
 * nsqd), E_CONNECTION_CLOSED for the rest (refused, reset, timed out); one line, led by the address.
 */
export function socketFailure(address: string, error: Error, tls: TlsOption): NsqClientError {
  if (isTlsError(error)) return new NsqClientError(ClientErrorCode.TlsFailed, `${address}: TLS failed: ${tlsFailureReason(error, tls)}`, { cause: error });
  return new NsqClientError(ClientErrorCode.ConnectionClosed, `${address}: ${error.message.trim()}`, { cause: error });
}
