/** The page's calls to its console server, all relative to the `<base href>`. */
import type { ActionRequest, ActionResult, ChannelDetail, DeadLettersAnswer, Overview, SeriesAnswer, TopicDetail, WorkerView } from '../api-types.ts';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new ApiError(response.status, body.message ?? response.statusText);
  }
  return (await response.json()) as T;
}

let lastOverview: { etag: string; value: Overview } | undefined;

/** The overview; an unchanged one (same poll) comes back as a 304 and is not parsed again. */
export async function getOverview(): Promise<Overview> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (lastOverview !== undefined) headers['If-None-Match'] = lastOverview.etag;
  const response = await fetch('api/overview', { headers });
  if (response.status === 304 && lastOverview !== undefined) return lastOverview.value;
  if (!response.ok) throw new ApiError(response.status, response.statusText);
  const value = (await response.json()) as Overview;
  const etag = response.headers.get('ETag');
  lastOverview = etag === null ? undefined : { etag, value };
  return value;
}

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

export const getTopic = (topic: string) => getJson<TopicDetail>(`api/topic?${q({ topic })}`);
export const getChannel = (topic: string, channel: string) => getJson<ChannelDetail>(`api/channel?${q({ topic, channel })}`);
export const getWorkers = () => getJson<WorkerView[]>('api/workers');
export const getDeadLetters = (topic: string) => getJson<DeadLettersAnswer>(`api/dead-letters?${q({ topic })}`);

export function getSeries(keys: readonly string[], window: string): Promise<SeriesAnswer> {
  const params = new URLSearchParams({ window });
  for (const key of keys) params.append('key', key);
  return getJson<SeriesAnswer>(`api/series?${params.toString()}`);
}

export async function postAction(request: ActionRequest): Promise<ActionResult> {
  const response = await fetch('api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
  const body = (await response.json().catch(() => ({}))) as Partial<ActionResult> & { message?: string };
  if (response.status === 200 || response.status === 502) return { ok: body.ok ?? false, errors: body.errors ?? [] };
  return { ok: false, errors: [body.message ?? `${response.status} ${response.statusText}`] };
}
