/**
 * The base of the errors nsqworker raises itself: a stable `code` that programs branch on, a
 * message for people, and the `cause` that led to it. Each part declares its own codes and class.
 */
export class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
