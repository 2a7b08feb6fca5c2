/**
 * Actions on the cluster, done as nsqadmin does them, through the public HTTP APIs only: topic and
 * channel registrations on every lookupd, the topic's own state on every nsqd that has it. Each
 * upstream call is made even when another fails, and every failure is reported.
 */
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import type { ActionName, ActionRequest, ActionResult } from '../api-types.ts';
import type { UpstreamClient } from './http-client.ts';

const ACTIONS: readonly ActionName[] = ['create', 'pause', 'unpause', 'empty', 'delete', 'tombstone', 'replay', 'discard'];

export class ActionError extends Error {
  override readonly name = 'ActionError';
}

/** A request body checked: known action, valid names, a node for tombstones. */
export function parseActionRequest(body: unknown): ActionRequest {
  if (typeof body !== 'object' || body === null) throw new ActionError('the body must be a JSON object');
  const { action, topic, channel, node, id } = body as Record<string, unknown>;
  if (typeof action !== 'string' || !ACTIONS.includes(action as ActionName)) throw new ActionError(`unknown action ${JSON.stringify(action)}`);
  if (typeof topic !== 'string' || !isValidTopicName(topic)) throw new ActionError('a valid topic is required');
  if (channel !== undefined && (typeof channel !== 'string' || !isValidChannelName(channel))) throw new ActionError('the channel name is not valid');
  if (action === 'tombstone' && (typeof node !== 'string' || channel !== undefined)) throw new ActionError('tombstone takes a topic and a node');
  const onDeadLetter = action === 'replay' || action === 'discard';
  if (onDeadLetter) checkDeadLetterTarget(action, id, channel);
  return {
    action: action as ActionName,
    topic,
    ...(channel === undefined ? {} : { channel }),
    ...(typeof node === 'string' ? { node } : {}),
    ...(onDeadLetter ? { id: id as string } : {}),
  };
}

/** replay and discard name a dead letter by its topic and message id (nsqd's: 16 hex digits), no channel. */
function checkDeadLetterTarget(action: string, id: unknown, channel: unknown): void {
  if (channel !== undefined) throw new ActionError(`${action} takes a dead-letter topic and a message id, not a channel`);
  if (id === undefined) throw new ActionError(`${action} takes a dead-letter topic and a message id: no id given`);
  if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) {
    const shown = typeof id === 'string' && id.length > 40 ? `${JSON.stringify(id.slice(0, 40))}…` : JSON.stringify(id);
    throw new ActionError(`${action}: ${shown} is not a message id (16 lowercase hex digits, as /api/dead-letters lists them)`);
  }
}

export interface ActionTargets {
  lookupds: readonly string[];
  /** Every nsqd the console polls. */
  allNodes: readonly string[];
  /** The nsqd that have the topic. */
  topicNodes(topic: string): string[];
}

/** The upstream POSTs one action takes, in the order they are sent. */
export function planAction(request: ActionRequest, targets: ActionTargets): string[] {
  const { action, topic, channel } = request;
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const onLookupds = (path: string, params: Record<string, string>) => targets.lookupds.map((a) => `http://${a}${path}?${q(params)}`);
  const onNodes = (nodes: readonly string[], path: string, params: Record<string, string>) => nodes.map((a) => `http://${a}${path}?${q(params)}`);
  const holders = targets.topicNodes(topic);
  if (action === 'tombstone') {
    // lookupd stops handing the node out for the topic, then the node drops it (nsqadmin's order).
    return [...onLookupds('/topic/tombstone', { topic, node: request.node! }), ...onNodes([request.node!], '/topic/delete', { topic })];
  }
  if (channel === undefined) {
    if (action === 'create') {
      // With lookupds the topic is registered there, as nsqadmin does; without, every nsqd gets it.
      return targets.lookupds.length > 0 ? onLookupds('/topic/create', { topic }) : onNodes(targets.allNodes, '/topic/create', { topic });
    }
    if (action === 'delete') return [...onLookupds('/topic/delete', { topic }), ...onNodes(holders, '/topic/delete', { topic })];
    return onNodes(holders, `/topic/${action}`, { topic });
  }
  if (action === 'create') {
    const nodes = holders.length > 0 ? holders : targets.lookupds.length > 0 ? [] : targets.allNodes;
    return [...onLookupds('/channel/create', { topic, channel }), ...onNodes(nodes, '/channel/create', { topic, channel })];
  }
  if (action === 'delete') return [...onLookupds('/channel/delete', { topic, channel }), ...onNodes(holders, '/channel/delete', { topic, channel })];
  return onNodes(holders, `/channel/${action}`, { topic, channel });
}

export async function runAction(urls: readonly string[], upstream: UpstreamClient): Promise<ActionResult> {
  if (urls.length === 0) return { ok: false, errors: ['no nsqd or lookupd has this topic'] };
  const errors: string[] = [];
  // Sequential: a tombstone must reach lookupd before the node deletes the topic and re-registers.
  for (const url of urls) {
    try {
      await upstream.post(url);
    } catch (error) {
      errors.push(`${new URL(url).host}${new URL(url).pathname}: ${(error as Error).message}`);
    }
  }
  return { ok: errors.length === 0, errors };
}
