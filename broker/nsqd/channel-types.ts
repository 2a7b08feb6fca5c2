/**
 * What a channel needs from around it: its subscribers (the broker's client connections) and the
 * broker's limits on delays and timeouts.
 */
import type { InFlightList } from './in-flight-list.ts';
import type { BrokerMessage, MessageOwner } from './message.ts';

/** The broker-side view of a subscribed client connection. */
export interface Subscriber extends MessageOwner {
  /** The messages it holds, kept by the channel in order of their timeouts. */
  readonly inFlight: InFlightList;
  messageCount: number;
  finishCount: number;
  requeueCount: number;
  readonly msgTimeoutMs: number;
  readonly sampleRate: number;
  /** RDY > in flight, subscribed, not closing, socket not backed up. */
  isReady(): boolean;
  sendMessage(message: BrokerMessage): void;
  /** The channel is going away: close the connection. */
  closeForDelete(): void;
}

export interface ChannelLimits {
  maxReqTimeoutMs: number;
  maxMsgTimeoutMs: number;
}
