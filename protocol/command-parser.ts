/**
 * The server side of commands.ts: an incremental parser of command lines and their bodies, with
 * nsqd's line-length limit and per-command body bounds.
 */
import { finLineIdAt, hasSpace } from './fin-line.ts';
import { emptyMessageKey, parseHexId, type MessageKey } from './message-id-hex.ts';
import { readMessageId } from './message.ts';
import { splitOnSpaces } from './split-on-spaces.ts';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** A parsed command. `body` is set for body commands whose size was within bounds. */
export interface Command {
  name: string;
  params: string[];
  /**
   * The body size word for a body command, -1 for commands without a body. When it is outside the
   * command's bounds, `body` is undefined, parsing stops, and the receiver reports the error in the
   * order nsqd checks things (parameters first, then the size).
   */
  bodySize: number;
  body: Buffer | undefined;
  /**
   * Set only on the command {@link CommandParser.endOfStream} returns: the stream ended while its size
   * word (`'size'`) or its body (`'body'`; `body` then holds the bytes that did arrive) was being read.
   */
  truncated?: 'size' | 'body';
  /**
   * Set only on the FIN command handed over with `reuseFinCommand` for a `FIN <id>` line whose id is
   * 16 lowercase hex digits: the id as its halves (message-id-hex.ts), no string made; `params` is
   * then just `['FIN']`.
   */
  finId?: MessageKey | undefined;
}

/** The params of the reused FIN command: its id is in `finId`. */
const FIN_ONLY: string[] = ['FIN'];

/**
 * nsqd reads lines with `bufio.Reader.ReadSlice('\n')` over a 16 KiB buffer, and the `\n` must fit in
 * that buffer too: the longest line it accepts is 16383 bytes before the `\n` (counting any `\r`).
 */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 - 1;

export interface CommandParserOptions {
  /** Largest body accepted per body command, by command name. Commands not listed have no body. */
  bodyLimits: ReadonlyMap<string, number>;
  /**
   * Longest line, in bytes before the `\n` (a trailing `\r` counts), before the connection is treated as
   * broken. Default {@link DEFAULT_MAX_LINE_LENGTH}, nsqd's.
   */
  maxLineLength?: number;
  /** Trim surrounding white space from each line (nsqlookupd does); otherwise only a trailing `\r` is removed. */
  trimLines?: boolean;
  /**
   * Hand every `FIN <id>` line over as the same command object, its id changed each time, for a
   * receiver that copies what it keeps past its callback (the broker's CommandSequencer). A
   * consumer sends one FIN per message: the object and its params array were a third of what the
   * broker allocated per message delivered. Default false: a fresh command each time.
   */
  reuseFinCommand?: boolean;
  /** A body command's line, before its body is read (nsqd checks the line first); false stops parsing. */
  onBodyLine?: (command: Command) => boolean;
}

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  readonly code = 'E_LINE_TOO_LONG';
  constructor(limit: number) {
    super(`command line longer than ${limit} bytes`);
  }
}

const enum ParseState {
  Line,
  BodySize,
  Body,
  Stopped,
}

/**
 * Incremental command parser. Feed it chunks as they arrive; it calls `onCommand` for every
 * complete command in order. A command split at any byte, or many commands in one chunk, parse
 * the same. A body inside one chunk is a zero-copy slice; a body that spans chunks is gathered
 * into one buffer allocated at its final size.
 */
export class CommandParser {
  private state = ParseState.Line;
  private readonly maxLineLength: number;
  private readonly trimLines: boolean;
  private partialLine: Buffer[] = [];
  private partialLineLength = 0;
  private command: Command | undefined;
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFilled = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;
  /** The FIN command handed over each time, with `reuseFinCommand`. */
  private readonly finCommand: Command | undefined;

  constructor(
    private readonly options: CommandParserOptions,
    /** Return false to stop parsing (after a fatal error the rest of the stream is not read). */
    private readonly onCommand: (command: Command) => boolean | void,
  ) {
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.trimLines = options.trimLines ?? false;
    this.finCommand = options.reuseFinCommand === true ? { name: 'FIN', params: FIN_ONLY, bodySize: -1, body: undefined, finId: emptyMessageKey() } : undefined;
  }

  /**
   * The command of a `FIN <id>` line whose id is at `chunk[idAt]`: with `reuseFinCommand` and a hex
   * id, the one object again, the id in its `finId`; otherwise a fresh command with the id in
   * `params`; undefined for an id with a space, which the general path splits.
   */
  private finCommandAt(chunk: Buffer, idAt: number): Command | undefined {
    const reuse = this.finCommand;
    // Hex digits are no spaces: the id is read once on the path every consumer's FIN takes.
    if (reuse !== undefined && parseHexId(chunk, idAt, reuse.finId!)) return reuse;
    if (hasSpace(chunk, idAt)) return undefined;
    return { name: 'FIN', params: ['FIN', readMessageId(chunk, idAt)], bodySize: -1, body: undefined, finId: undefined };
  }

  /** Stops parsing: later chunks are ignored. */
  stop(): void {
    this.state = ParseState.Stopped;
  }
  get stopped(): boolean {
    return this.state === ParseState.Stopped;
  }

  /** Bytes of a partial command held between chunks: at most the line limit, or 3 + the body limit. */
  get bufferedBytes(): number {
    return this.partialLineLength + this.sizeFilled + this.bodyFilled;
  }

  /**
   * The peer has ended the stream. Returns the body command that was cut off while its size or body was
   * being read, marked `truncated`, so a server can answer as nsqd does when that read fails at EOF;
   * undefined when none was (a partial line is dropped silently, as nsqd drops it). Parsing stops.
   */
  endOfStream(): Command | undefined {
    let command: Command | undefined;
    if (this.state === ParseState.BodySize || this.state === ParseState.Body) {
      command = this.command!;
      if (this.state === ParseState.BodySize) {
        command.truncated = 'size';
      } else {
        command.truncated = 'body';
        command.body = this.body!.subarray(0, this.bodyFilled);
      }
    }
    this.state = ParseState.Stopped;
    this.command = undefined;
    this.body = undefined;
    this.partialLine = [];
    this.partialLineLength = 0;
    this.sizeFilled = 0;
    this.bodyFilled = 0;
    return command;
  }

  /** Feeds a chunk. Throws {@link LineTooLongError} for a line beyond the limit, and stops. */
  push(chunk: Buffer): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      switch (this.state) {
        case ParseState.Stopped:
          return;
        case ParseState.Line: {
          const newline = chunk.indexOf(NEWLINE, offset);
          if (newline < 0) {
            this.keepPartialLine(chunk.subarray(offset));
            return;
          }
          let line: string;
          if (this.partialLineLength === 0) {
            if (newline - offset > this.maxLineLength) this.failLineTooLong();
            const idAt = this.trimLines ? -1 : finLineIdAt(chunk, offset, newline);
            const fin = idAt < 0 ? undefined : this.finCommandAt(chunk, idAt);
            if (fin !== undefined) {
              offset = newline + 1;
              this.emit(fin);
              break;
            }
            line = this.lineText(chunk, offset, newline);
          } else {
            this.keepPartialLine(chunk.subarray(offset, newline));
            const whole = Buffer.concat(this.partialLine, this.partialLineLength);
            this.partialLine = [];
            this.partialLineLength = 0;
            line = this.lineText(whole, 0, whole.length);
          }
          offset = newline + 1;
          this.startCommand(line);
          break;
        }
        case ParseState.BodySize: {
          let size: number;
          if (this.sizeFilled === 0 && end - offset >= 4) {
            size = chunk.readInt32BE(offset);
            offset += 4;
          } else {
            while (this.sizeFilled < 4 && offset < end) this.sizeBytes[this.sizeFilled++] = chunk[offset++]!;
            if (this.sizeFilled < 4) return;
            this.sizeFilled = 0;
            size = this.sizeBytes.readInt32BE(0);
          }
          const command = this.command!;
          command.bodySize = size;
          const limit = this.options.bodyLimits.get(command.name) ?? 0;
          if (size <= 0 || size > limit) {
            this.state = ParseState.Stopped;
            this.emit(command);
            return;
          }
          if (end - offset >= size) {
            command.body = chunk.subarray(offset, offset + size);
            offset += size;
            this.state = ParseState.Line;
            this.emit(command);
          } else {
            this.body = Buffer.allocUnsafe(size);
            this.bodyFilled = 0;
            this.state = ParseState.Body;
          }
          break;
        }
        case ParseState.Body: {
          const body = this.body!;
          const take = Math.min(body.length - this.bodyFilled, end - offset);
          chunk.copy(body, this.bodyFilled, offset, offset + take);
          this.bodyFilled += take;
          offset += take;
          if (this.bodyFilled === body.length) {
            this.command!.body = body;
            this.body = undefined;
            this.bodyFilled = 0;
            this.state = ParseState.Line;
            this.emit(this.command!);
          }
          break;
        }
      }
    }
  }

  private keepPartialLine(piece: Buffer): void {
    if (this.partialLineLength + piece.length > this.maxLineLength) this.failLineTooLong();
    // Copy: the chunk this piece comes from may be reused by the caller once push returns.
    this.partialLine.push(Buffer.from(piece));
    this.partialLineLength += piece.length;
  }

  /**
   * The stream cannot be resynchronised after an overlong line (where the next command starts is
   * unknown), so the parser stops and lets go of the partial line before throwing; a caller that keeps
   * pushing gets nothing parsed out of the middle of the broken line.
   */
  private failLineTooLong(): never {
    this.state = ParseState.Stopped;
    this.partialLine = [];
    this.partialLineLength = 0;
    throw new LineTooLongError(this.maxLineLength);
  }

  private lineText(source: Buffer, start: number, newline: number): string {
    let stop = newline;
    if (stop > start && source[stop - 1] === CARRIAGE_RETURN) stop--;
    const text = source.toString('latin1', start, stop);
    return this.trimLines ? text.trim() : text;
  }

  private startCommand(line: string): void {
    const params = splitOnSpaces(line);
    const name = params[0] ?? '';
    const command: Command = { name, params, bodySize: -1, body: undefined, finId: undefined };
    if (this.options.bodyLimits.has(name)) {
      if (this.options.onBodyLine?.(command) === false) return void (this.state = ParseState.Stopped);
      this.command = command;
      this.state = ParseState.BodySize;
    } else {
      this.emit(command);
    }
  }

  private emit(command: Command): void {
    this.command = undefined;
    if (this.onCommand(command) === false) this.state = ParseState.Stopped;
  }
}
