/**
 * Warns of a message left unanswered past its nsqd's message timeout (`--msg-timeout`, or the
 * IDENTIFY msg_timeout): nsqd takes it back and delivers it again, so its handler may run twice,
 * and while that handler hangs it holds one of maxInFlight; after a backoff (RDY 1) it holds the
 * only one, and the channel stalls. nsqd says nothing of this; without the warning a hung handler
 * looked like a quiet queue.
 *
 * A message past its timeout whose handler never started (held while maxInFlight handlers ran) is
 * let go instead, without a word: nsqd has it back, and an answer to it would fail (E_FIN_FAILED,
 * E_REQ_FAILED). Kept, such copies piled up while a handler hung, one per timeout, each holding its
 * body, to be requeued in vain at close.
 *
 * One timer per consumer and a count on each message (the scans that found it in flight), reset
 * by its TOUCH: no clock read or timer per message.
 */
import { formatDurationMs } from '../protocol/duration.ts';
import type { ConsumerWarning } from './consumer-types.ts';
import type { Message } from './message.ts';

/** How often the messages in flight are looked at, ms: a warning comes up to this much after the timeout. */
export const OVERDUE_SCAN_MS = 1000;

/** A connection's messages in flight and its nsqd's message timeout. */
export interface WatchedConnection {
  readonly address: string;
  readonly messages: Iterable<Message>;
  readonly msgTimeoutMs: number;
}

export class OverdueWatch<C extends WatchedConnection> {
  private timer: NodeJS.Timeout | undefined;

  /** `letGo` takes a message past its timeout out of the connection's when its handler has not started, and says whether it did. */
  constructor(
    private readonly connections: () => Iterable<C>,
    private readonly warn: (warning: ConsumerWarning) => void,
    private readonly letGo: (message: Message, connection: C) => boolean,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.scan(), OVERDUE_SCAN_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private scan(): void {
    for (const connection of this.connections()) {
      let overdue: Message[] | undefined;
      for (const message of connection.messages) {
        // Seen in k scans: in flight at least (k - 1) scan periods.
        const scans = ++message['inFlightScans'];
        if ((scans - 1) * OVERDUE_SCAN_MS >= connection.msgTimeoutMs && !message['overdueWarned']) (overdue ??= []).push(message);
      }
      // Not while iterating: letting one go takes it out of connection.messages.
      for (const message of overdue ?? []) {
        if (this.letGo(message, connection)) continue;
        message['overdueWarned'] = true;
        this.warn({
          code: 'W_MESSAGE_PAST_MSG_TIMEOUT',
          message:
            `message ${message.id} has been in flight for over ${formatDurationMs(connection.msgTimeoutMs)}, the message timeout of nsqd ${connection.address}, ` +
            'unanswered: nsqd takes it back and delivers it again (its handler may run twice), and a handler that never ends holds one of maxInFlight; ' +
            'touch() the message to keep it while a long handler runs',
        });
      }
    }
  }
}
