/** The types of a consumer's public surface: its handler, its give-up hook, its config and its events. */
import type { LookupdDiscovery } from './lookupd-discovery.ts';
import type { Message } from './message.ts';
import type { ConsumerOptionsInput } from './options.ts';

/** Processes one message. Resolve to FIN it; throw to requeue it (see {@link RequeueMessage}, {@link GiveUpMessage}). */
export type MessageHandler = (message: Message) => Promise<void> | void;

/** Called once before a message is dropped for exceeding maxAttempts (or on {@link GiveUpMessage}); FIN follows. */
export type GiveUpHook = (message: Message, lastError: Error | undefined) => Promise<void> | void;

export interface ConsumerWarning {
  code: 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS' | 'W_HANDLER_AFTER_ANSWER' | 'W_MESSAGE_PAST_MSG_TIMEOUT' | 'W_COMPRESSION_DECLINED';
  message: string;
  /** With `W_MAX_IN_FLIGHT_BELOW_CONNECTIONS`: the nsqd connections (made or being made) that share maxInFlight. */
  connections?: number;
}

export type ConsumerEvents = {
  /** nsqd at `address` answered SUB with OK: messages may come. A SUB it refuses is an `error`, and retried. */
  connected: [address: string];
  disconnected: [address: string, error: Error | undefined];
  message: [message: Message];
  finished: [message: Message];
  /** `error` is what the handler threw, when a failure caused the requeue. */
  requeued: [message: Message, delayMs: number, error: Error | undefined];
  backoff: [level: number, durationMs: number];
  discarded: [message: Message, error: Error | undefined];
  error: [error: Error];
  warning: [warning: ConsumerWarning];
};

/** An nsqd about to be subscribed: its TCP address, and its HTTP address when lookupd gave one. */
export interface NsqdNodeInfo {
  tcpAddress: string;
  httpAddress: string | undefined;
}

export interface ConsumerConfig extends ConsumerOptionsInput {
  onGiveUp?: GiveUpHook;
  /**
   * A lookupd poller shared with other consumers of the same topic, used instead of one of the
   * consumer's own (the lookupd options then come from it). Its owner starts and stops it.
   */
  discovery?: LookupdDiscovery;
  /**
   * Runs on each connection after the handshake and before SUB: e.g. to create the channel (and its
   * siblings) over nsqd's HTTP API first. A rejection fails the attempt, which is retried like a
   * failed connect.
   */
  beforeSubscribe?: (nsqd: NsqdNodeInfo) => Promise<void>;
}
