/**
 * Sums one topic's or channel's figures over the nodes that have it. Counts add up; rates add up over
 * the nodes that have one this round (a down node has none), and are null when no node has one.
 */
import type { ChannelCounts, CountsView } from '../api-types.ts';
import type { NsqChannelStats, NsqTopicStats } from './nsq-types.ts';

export const addRate = (sum: number | null, rate: number | undefined): number | null =>
  rate === undefined ? sum : (sum ?? 0) + rate;

export function emptyCounts(): CountsView {
  return { depth: 0, backendDepth: 0, messageCount: 0, messageRate: null, paused: false };
}

export function emptyChannelCounts(): ChannelCounts {
  return { ...emptyCounts(), inFlight: 0, deferred: 0, requeueCount: 0, timeoutCount: 0, requeueRate: null, timeoutRate: null, clientCount: 0 };
}

/** Rates of one node's topic or channel this round, if it answered twice in a row. */
export interface NodeRates {
  message?: number;
  requeue?: number;
  timeout?: number;
}

export function addTopic(into: CountsView, topic: NsqTopicStats, rates: NodeRates | undefined): void {
  into.depth += topic.depth;
  into.backendDepth += topic.backend_depth;
  into.messageCount += topic.message_count;
  into.messageRate = addRate(into.messageRate, rates?.message);
  // Paused anywhere is shown: a topic paused on one node of three is not flowing there.
  into.paused ||= topic.paused;
}

export function addChannel(into: ChannelCounts, channel: NsqChannelStats, rates: NodeRates | undefined): void {
  into.depth += channel.depth;
  into.backendDepth += channel.backend_depth;
  into.messageCount += channel.message_count;
  into.messageRate = addRate(into.messageRate, rates?.message);
  into.paused ||= channel.paused;
  into.inFlight += channel.in_flight_count;
  into.deferred += channel.deferred_count;
  into.requeueCount += channel.requeue_count;
  into.timeoutCount += channel.timeout_count;
  into.requeueRate = addRate(into.requeueRate, rates?.requeue);
  into.timeoutRate = addRate(into.timeoutRate, rates?.timeout);
  into.clientCount += channel.client_count;
}
