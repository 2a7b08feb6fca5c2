/**
 * Who may act, and whether a request may act at all. An action is a POST with a JSON body from a
 * page of this same origin: a cross-site form cannot send `application/json`, and a cross-site
 * script's `Origin` does not match the `Host` it was sent to. Then `--read-only` closes every
 * action, and `--admin-user` narrows them to the users the proxy in front names in its header.
 */
import type { IncomingMessage } from 'node:http';
import type { ConsoleOptions } from './options.ts';

export interface Viewer {
  /** The user the ACL header names, if any. */
  user: string | null;
  canAct: boolean;
}

export function viewerOf(req: IncomingMessage, options: Pick<ConsoleOptions, 'readOnly' | 'adminUsers' | 'aclHttpHeader'>): Viewer {
  const header = req.headers[options.aclHttpHeader.toLowerCase()];
  const user = (Array.isArray(header) ? header[0] : header)?.trim() || null;
  if (options.readOnly) return { user, canAct: false };
  if (options.adminUsers.length === 0) return { user, canAct: true };
  return { user, canAct: user !== null && options.adminUsers.includes(user) };
}

/** Why a state-changing request is refused, or undefined when it comes from this console's page. */
export function crossOriginReason(req: IncomingMessage): string | undefined {
  const contentType = req.headers['content-type'] ?? '';
  // Said by the header: `curl -d '{...}'` sends JSON text as a form (application/x-www-form-urlencoded).
  if (!contentType.startsWith('application/json')) return `actions take Content-Type: application/json, not ${contentType === '' ? 'none' : contentType}`;
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return `cross-site request (${fetchSite})`;
  const origin = req.headers.origin;
  if (origin === undefined) return 'no Origin header';
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'bad Origin header';
  }
  // Behind a proxy the browser's host reaches us as X-Forwarded-Host.
  const forwarded = req.headers['x-forwarded-host'];
  const hosts = [req.headers.host, ...(typeof forwarded === 'string' ? forwarded.split(',').map((h) => h.trim()) : [])];
  return hosts.includes(originHost) ? undefined : `Origin ${origin} does not match this console`;
}
