/**
 * NSQ error codes, as nsqd sends them in error frames (`"<CODE> <description>"`).
 *
 * Only three are non-fatal; every other error frame is followed by nsqd closing the connection.
 */
export const ErrorCode = {
  BadProtocol: 'E_BAD_PROTOCOL',
  Invalid: 'E_INVALID',
  BadBody: 'E_BAD_BODY',
  BadTopic: 'E_BAD_TOPIC',
  BadChannel: 'E_BAD_CHANNEL',
  BadMessage: 'E_BAD_MESSAGE',
  PubFailed: 'E_PUB_FAILED',
  MpubFailed: 'E_MPUB_FAILED',
  DpubFailed: 'E_DPUB_FAILED',
  SubFailed: 'E_SUB_FAILED',
  FinFailed: 'E_FIN_FAILED',
  ReqFailed: 'E_REQ_FAILED',
  TouchFailed: 'E_TOUCH_FAILED',
  IdentifyFailed: 'E_IDENTIFY_FAILED',
  AuthFirst: 'E_AUTH_FIRST',
  AuthFailed: 'E_AUTH_FAILED',
  Unauthorized: 'E_UNAUTHORIZED',
  AuthDisabled: 'E_AUTH_DISABLED',
  AuthError: 'E_AUTH_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const NON_FATAL: ReadonlySet<string> = new Set([ErrorCode.FinFailed, ErrorCode.ReqFailed, ErrorCode.TouchFailed]);

/** Whether nsqd closes the connection after sending this code. */
export function isFatalErrorCode(code: string): boolean {
  return !NON_FATAL.has(code);
}

/**
 * An error as it travels in an NSQ error frame. The broker throws it to answer a client; the
 * client builds it from a received frame with {@link ProtocolError.parse}.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly fatal: boolean;

  constructor(
    readonly code: string,
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(description ? `${code} ${description}` : code, options);
    this.fatal = isFatalErrorCode(code);
  }

  /** The error frame's data: `CODE description`, or the bare code when there is no description. */
  toFrameData(): string {
    return this.message;
  }

  /** Builds the error from an error frame's data. */
  static parse(data: string): ProtocolError {
    const space = data.indexOf(' ');
    return space < 0 ? new ProtocolError(data, '') : new ProtocolError(data.slice(0, space), data.slice(space + 1));
  }
}
