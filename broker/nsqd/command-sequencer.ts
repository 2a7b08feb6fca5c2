/**
 * Keeps a client's commands in order when one of them must wait (AUTH and an expired grant wait for
 * an auth server, IDENTIFY for a TLS handshake): nsqd reads the next command only after the current
 * one is done, so commands read meanwhile wait here, and the socket is paused so that few do.
 */
import type { Command } from '../../protocol/command-parser.ts';

export interface SequencedConnection {
  /** Carries out a command: a promise when it must wait. Throws a ProtocolError to answer with. */
  execute(command: Command): Promise<void> | void;
  /** Sends an error frame; returns whether the connection stays open. */
  answerError(error: unknown): boolean;
  pauseInput(): void;
  resumeInput(): void;
  isClosed(): boolean;
  /** While an upgrade runs the handshake reads the socket: it must not be paused. */
  isUpgrading(): boolean;
}

export class CommandSequencer {
  /** Commands read while an earlier one is still running; undefined when none is. */
  private waiting: Command[] | undefined;
  private inputPaused = false;

  constructor(private readonly connection: SequencedConnection) {}

  /**
   * Makes `check` (nsqd's checks of a body command's line, before its body) when no command waits
   * before this one, answering what it throws; a line read behind a waiting command is checked with
   * its body instead, as nsqd answers in order. Returns whether parsing goes on.
   */
  checkLine(command: Command, check: (command: Command) => void): boolean {
    if (this.waiting !== undefined) return true;
    try {
      check(command);
      return true;
    } catch (error) {
      return this.connection.answerError(error);
    }
  }

  /** The parser's callback: runs the command now, or queues it behind a running one. Returns whether parsing goes on. */
  accept(command: Command): boolean {
    if (this.waiting === undefined) return this.run(command);
    // The parser may hand the same FIN object over again, and a body may be a slice of a chunk the
    // caller reuses: keep copies.
    this.waiting.push({
      ...command,
      params: [...command.params],
      body: command.body === undefined ? undefined : Buffer.from(command.body),
      finId: command.finId === undefined ? undefined : { ...command.finId },
    });
    return true;
  }

  /** Forgets queued commands (the stream they came from was replaced, or the connection closed). */
  drop(): void {
    if (this.waiting !== undefined) this.waiting = [];
  }

  private run(command: Command): boolean {
    let pending: Promise<void> | void;
    try {
      pending = this.connection.execute(command);
    } catch (error) {
      return this.connection.answerError(error);
    }
    if (pending !== undefined) this.hold(pending);
    return true;
  }

  private hold(pending: Promise<void>): void {
    this.waiting ??= [];
    if (!this.connection.isUpgrading() && !this.inputPaused) {
      this.inputPaused = true;
      this.connection.pauseInput();
    }
    pending.then(
      () => this.release(),
      (error: unknown) => {
        if (this.connection.answerError(error)) this.release();
      },
    );
  }

  private release(): void {
    const queue = this.waiting ?? [];
    this.waiting = undefined;
    while (queue.length > 0 && !this.connection.isClosed()) {
      let pending: Promise<void> | void;
      try {
        pending = this.connection.execute(queue.shift()!);
      } catch (error) {
        if (!this.connection.answerError(error)) return;
        continue;
      }
      if (pending !== undefined) {
        this.waiting = queue;
        this.hold(pending);
        return;
      }
    }
    if (this.inputPaused && !this.connection.isClosed()) {
      this.inputPaused = false;
      this.connection.resumeInput();
    }
  }
}
