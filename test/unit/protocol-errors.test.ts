import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError, isFatalErrorCode } from '../../protocol/errors.ts';
import { FrameType, encodeFrame } from '../../protocol/frames.ts';

const NON_FATAL = ['E_FIN_FAILED', 'E_REQ_FAILED', 'E_TOUCH_FAILED'];

describe('error codes', () => {
  it('lists the codes of nsqd', () => {
    expect(Object.values(ErrorCode).sort()).toEqual(
      [
        'E_BAD_PROTOCOL', 'E_INVALID', 'E_BAD_BODY', 'E_BAD_TOPIC', 'E_BAD_CHANNEL', 'E_BAD_MESSAGE',
        'E_PUB_FAILED', 'E_MPUB_FAILED', 'E_DPUB_FAILED', 'E_SUB_FAILED', 'E_FIN_FAILED', 'E_REQ_FAILED',
        'E_TOUCH_FAILED', 'E_IDENTIFY_FAILED', 'E_AUTH_FIRST', 'E_AUTH_FAILED', 'E_UNAUTHORIZED',
        'E_AUTH_DISABLED', 'E_AUTH_ERROR',
      ].sort(),
    );
  });

  it('are fatal except FIN, REQ and TOUCH failures', () => {
    for (const code of Object.values(ErrorCode)) expect(isFatalErrorCode(code), code).toBe(!NON_FATAL.includes(code));
    // A code we do not know closes the connection too: assume the worst.
    expect(isFatalErrorCode('E_SOMETHING_NEW')).toBe(true);
    expect(isFatalErrorCode('')).toBe(true);
  });
});

describe('ProtocolError', () => {
  it('splits an error frame at the first space into code and description', () => {
    const error = ProtocolError.parse('E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProtocolError');
    expect(error.code).toBe('E_FIN_FAILED');
    expect(error.description).toBe('FIN 0123456789abcdef failed ID not in flight');
    expect(error.fatal).toBe(false);
    expect(error.message).toBe('E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight');
  });

  it('knows which errors are fatal', () => {
    const cases: [string, boolean][] = [
      ['E_INVALID invalid command FOO', true],
      ['E_BAD_BODY IDENTIFY failed to decode JSON body', true],
      ['E_REQ_FAILED REQ 0123456789abcdef failed ID already deferred', false],
      ['E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight', false],
      ['E_IDENTIFY_FAILED cannot enable both deflate and snappy compression', true],
    ];
    for (const [data, fatal] of cases) expect(ProtocolError.parse(data).fatal, data).toBe(fatal);
  });

  it('handles E_BAD_PROTOCOL, which has no description', () => {
    const error = ProtocolError.parse('E_BAD_PROTOCOL');
    expect([error.code, error.description, error.message, error.fatal]).toEqual(['E_BAD_PROTOCOL', '', 'E_BAD_PROTOCOL', true]);
    expect(error.toFrameData()).toBe('E_BAD_PROTOCOL');
  });

  it("keeps MPUB's doubled code in the description", () => {
    const error = ProtocolError.parse('E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a b" is not valid');
    expect(error.code).toBe('E_BAD_TOPIC');
    expect(error.description).toBe('E_BAD_TOPIC MPUB topic name "a b" is not valid');
  });

  it('round-trips through an error frame, byte for byte', () => {
    const error = new ProtocolError(ErrorCode.Invalid, 'RDY count 2501 out of range 0-2500');
    expect(error.fatal).toBe(true);
    expect(error.toFrameData()).toBe('E_INVALID RDY count 2501 out of range 0-2500');
    const frame = encodeFrame(FrameType.Error, error.toFrameData());
    expect(frame.readInt32BE(0)).toBe(4 + error.toFrameData().length);
    expect(frame.readInt32BE(4)).toBe(1);
    const parsed = ProtocolError.parse(frame.subarray(8).toString());
    expect([parsed.code, parsed.description, parsed.fatal]).toEqual([error.code, error.description, error.fatal]);
  });

  it('keeps its cause', () => {
    const cause = new Error('disk full');
    const error = new ProtocolError(ErrorCode.PubFailed, 'PUB failed disk full', { cause });
    expect(error.cause).toBe(cause);
  });
});
