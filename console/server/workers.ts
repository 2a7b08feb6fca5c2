/**
 * nsqworker workers as the cluster reports them: every consumer whose user agent follows the
 * runner's contract, `nsqworker/<version> (worker=<topic>/<channel>; task=<task>[; dead_letter=<topic>]
 * [; health=<host:port>])`, grouped by worker and task. Nothing is asked of the workers themselves.
 */
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { processOf, type WorkerTask, type WorkerView } from '../api-types.ts';
import type { ClusterModel } from './cluster.ts';
import type { WorkerHealthReader } from './worker-health.ts';

export interface WorkerAgent {
  version: string;
  topic: string;
  channel: string;
  task: string;
  deadLetterTopic: string | null;
  health: string | null;
}

const AGENT = /^nsqworker\/(\S+) \((.*)\)$/;

export function parseWorkerAgent(userAgent: string): WorkerAgent | undefined {
  const match = AGENT.exec(userAgent);
  if (match === null) return undefined;
  const fields = new Map<string, string>();
  for (const part of match[2]!.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const worker = fields.get('worker');
  const task = fields.get('task');
  const slash = worker?.indexOf('/') ?? -1;
  if (worker === undefined || task === undefined || slash <= 0) return undefined;
  return { version: match[1]!, topic: worker.slice(0, slash), channel: worker.slice(slash + 1), task, deadLetterTopic: fields.get('dead_letter') ?? null, health: fields.get('health') ?? null };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Where the console can reach a worker's health address: one bound to every interface (or to
 * loopback on another machine) is asked at the address nsqd sees the worker connect from.
 */
export function reachableHealth(health: string | null, remoteAddress: string): string | null {
  if (health === null) return null;
  try {
    const bound = parseHostPort(health);
    const remote = parseHostPort(remoteAddress);
    const anywhere = bound.host === '' || bound.host === '0.0.0.0' || bound.host === '::';
    if (anywhere || (LOOPBACK.has(bound.host) && !LOOPBACK.has(remote.host))) return joinHostPort(remote.host, bound.port);
    return health;
  } catch {
    return null;
  }
}

/** Adds what each worker's /metrics says: its state, and each task's handled, failed and dead-lettered rates. */
export async function withHealth(workers: WorkerView[], reader: WorkerHealthReader): Promise<WorkerView[]> {
  const addresses = [...new Set(workers.flatMap((w) => w.tasks.flatMap((t) => t.instances.flatMap((i) => i.health ?? []))))];
  const figures = new Map(await Promise.all(addresses.map(async (address) => [address, await reader.read(address)] as const)));
  const add = (sum: number | null, value: number | null | undefined) => (value === null || value === undefined ? sum : (sum ?? 0) + value);
  for (const task of workers.flatMap((worker) => worker.tasks)) {
    const counted = new Set<string>();
    for (const instance of task.instances) {
      const health = instance.health === null ? undefined : figures.get(instance.health);
      if (health === undefined) continue;
      instance.state = health.state;
      // One process's figures count once, however many of its connections nsqd lists.
      if (counted.has(instance.health!)) continue;
      counted.add(instance.health!);
      const own = health.tasks.get(task.task);
      task.handledRate = add(task.handledRate, own?.handledRate);
      task.failedRate = add(task.failedRate, own?.failedRate);
      task.deadLetteredRate = add(task.deadLetteredRate, own?.deadLetteredRate);
    }
  }
  return workers;
}

/** The channel the console reads dead letters through. */
export const CONSOLE_CHANNEL = 'nsqworker_console';

/** Dead letters waiting in a topic: in the console's channel once it exists, else in the topic. */
export function deadLettersWaiting(model: ClusterModel, topic: string): number | null {
  const detail = model.topic(topic);
  if (detail === undefined) return null;
  const own = detail.channels.find((channel) => channel.name === CONSOLE_CHANNEL);
  return own === undefined ? detail.counts.depth : own.depth + own.inFlight + own.deferred;
}

export function workersOf(model: ClusterModel): WorkerView[] {
  const workers = new Map<string, WorkerView & { taskMap: Map<string, WorkerTask> }>();
  for (const node of model.nodes.values()) {
    for (const topic of node.stats?.topics ?? []) {
      for (const channel of topic.channels) {
        for (const client of channel.clients ?? []) {
          const agent = parseWorkerAgent(client.user_agent);
          if (agent === undefined) continue;
          const key = `${agent.topic}/${agent.channel}`;
          let worker = workers.get(key);
          if (worker === undefined) {
            worker = { topic: agent.topic, channel: agent.channel, tasks: [], hosts: [], deadLetterTopic: agent.deadLetterTopic, deadLetters: null, taskMap: new Map() };
            workers.set(key, worker);
          }
          let task = worker.taskMap.get(agent.task);
          if (task === undefined) {
            task = { task: agent.task, channel: channel.channel_name, counts: model.channel(topic.topic_name, channel.channel_name)?.counts ?? null, instances: [], processes: 0, handledRate: null, failedRate: null, deadLetteredRate: null };
            worker.taskMap.set(agent.task, task);
          }
          task.instances.push({
            node: node.address,
            clientId: client.client_id,
            hostname: client.hostname,
            remoteAddress: client.remote_address,
            version: agent.version,
            health: reachableHealth(agent.health, client.remote_address),
            state: null,
            ready: client.ready_count,
            inFlight: client.in_flight_count,
            finishCount: client.finish_count,
            requeueCount: client.requeue_count,
            connectedAt: client.connect_ts,
          });
          if (!worker.hosts.includes(client.hostname)) worker.hosts.push(client.hostname);
        }
      }
    }
  }
  return [...workers.values()]
    .map(({ taskMap, ...worker }) => ({
      ...worker,
      tasks: [...taskMap.values()].map((task) => ({ ...task, processes: new Set(task.instances.map(processOf)).size })).sort((a, b) => a.task.localeCompare(b.task)),
      deadLetters: worker.deadLetterTopic === null ? null : deadLettersWaiting(model, worker.deadLetterTopic),
    }))
    .sort((a, b) => `${a.topic}/${a.channel}`.localeCompare(`${b.topic}/${b.channel}`));
}
