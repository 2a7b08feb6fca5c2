import { describe, expect, it } from 'vitest';
import { ClientErrorCode, NsqClientError } from '../../client/errors.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { refusalHint } from '../../runner/ops/refusal-hints.ts';

describe("a refusal the worker's own settings caused", () => {
  it("names the runner's flag to change, where the client's words name its option", () => {
    expect(refusalHint(new NsqClientError(ClientErrorCode.AuthRequired, '127.0.0.1:4150 requires AUTH and no authSecret is set'))).toBe(': give its secret with --auth-secret or NSQWORKER_AUTH_SECRET');
    expect(refusalHint(new ProtocolError('E_UNAUTHORIZED', 'AUTH failed for SUB on "orders" "ship"'))).toContain('--auth-secret does not cover it');
    expect(refusalHint(new ProtocolError('E_INVALID', 'cannot SUB in current state (TLS required)'))).toContain('connect with --tls');
    const noCertificate = '127.0.0.1:4150: TLS failed: nsqd wants a client certificate (it runs with --tls-client-auth-policy) and none was sent: tls needs a cert and key signed by its --tls-root-ca-file (tlsv13 alert certificate required)';
    expect(refusalHint(new NsqClientError(ClientErrorCode.TlsFailed, noCertificate))).toBe(': give one with --tls-cert and --tls-key');
    expect(refusalHint(new ProtocolError('E_AUTH_FAILED', 'AUTH failed'))).toContain('refused this --auth-secret, or nsqd could not ask it');
  });

  it('adds nothing to any other error', () => {
    expect(refusalHint(new ProtocolError('E_INVALID', 'cannot FIN in current state'))).toBe('');
    expect(refusalHint(new Error('connect ECONNREFUSED 127.0.0.1:4150'))).toBe('');
  });
});
