/**
 * `--notification-http-endpoint`: each action is POSTed as JSON, in nsqadmin's shape, so an audit
 * hook written for nsqadmin keeps working. Delivery is best effort: a slow or failing endpoint is
 * logged and never holds up the action.
 */
import type { Logger } from 'pino';
import type { ActionRequest } from '../api-types.ts';

export interface ActionEvent {
  request: ActionRequest;
  user: string | null;
  remoteIp: string;
  userAgent: string;
  url: string;
}

/** nsqadmin's action names: `pause_channel`, `tombstone_topic_producer`, … */
function nsqadminActionName(request: ActionRequest): string {
  if (request.action === 'tombstone') return 'tombstone_topic_producer';
  return `${request.action}_${request.channel === undefined ? 'topic' : 'channel'}`;
}

export function notifyAction(endpoint: string, event: ActionEvent, logger: Logger): void {
  if (endpoint === '') return;
  const body = JSON.stringify({
    action: nsqadminActionName(event.request),
    channel: event.request.channel ?? '',
    topic: event.request.topic,
    node: event.request.node ?? '',
    timestamp: Math.floor(Date.now() / 1000),
    user: event.user ?? '',
    remote_ip: event.remoteIp,
    user_agent: event.userAgent,
    url: event.url,
    via: 'nsqworker-console',
  });
  fetch(endpoint, { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(5000) })
    .then((response) => {
      if (!response.ok) logger.warn({ endpoint, status: response.status }, 'notification endpoint refused an action event');
      return response.arrayBuffer();
    })
    .catch((error: unknown) => logger.warn({ endpoint, err: error }, 'notification endpoint did not take an action event'));
}
