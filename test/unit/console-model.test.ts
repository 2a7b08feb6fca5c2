import { describe, expect, it } from 'vitest';
import { seriesKey } from '../../console/api-types.ts';
import { ClusterModel, type NodeResult } from '../../console/server/cluster.ts';
import type { NsqStats } from '../../console/server/nsq-types.ts';

function stats(messages: number, depth: number, paused = false): NsqStats {
  return {
    version: '1.3.0',
    health: 'OK',
    start_time: 0,
    topics: [
      {
        topic_name: 'orders',
        depth,
        backend_depth: 0,
        message_count: messages,
        paused: false,
        channels: [
          { channel_name: 'billing', depth, backend_depth: 0, in_flight_count: 1, deferred_count: 0, message_count: messages, requeue_count: 0, timeout_count: 0, client_count: 1, clients: [], paused },
        ],
      },
    ],
  };
}

const up = (address: string, s: NsqStats): NodeResult => ({ address, source: 'nsqd-http-address', hostname: address, tcpAddress: undefined, tombstones: [], outcome: { stats: s } });
const down = (address: string): NodeResult => ({ address, source: 'nsqd-http-address', hostname: address, tcpAddress: undefined, tombstones: [], outcome: { error: 'connection refused' } });

describe('ClusterModel', () => {
  it('sums counts and per-node rates over the nodes that have a topic', () => {
    const model = new ClusterModel(1000);
    model.applyRound(0, [up('a:1', stats(100, 5)), up('b:1', stats(10, 1))], []);
    model.applyRound(2000, [up('a:1', stats(300, 7)), up('b:1', stats(30, 2, true))], []);
    const [row] = model.overview({ readOnly: false, canAct: true, user: null }).topics;
    expect(row).toMatchObject({ name: 'orders', depth: 9, channelDepth: 9, messageCount: 330, messageRate: 110, nodeCount: 2, channelCount: 1, stale: false });
    expect(model.overview({ readOnly: false, canAct: true, user: null }).totals).toEqual({ depth: 18, messageRate: 110, inFlight: 2 });
    const channel = model.channel('orders', 'billing');
    expect(channel?.counts).toMatchObject({ depth: 9, inFlight: 2, messageRate: 110, paused: true });
    expect(channel?.nodes.map((n) => n.node)).toEqual(['a:1', 'b:1']);
    const series = model.series.window([seriesKey.topic('orders', 'rate'), seriesKey.topic('orders', 'depth')], 60_000, 2000);
    expect(series.values[seriesKey.topic('orders', 'rate')]).toEqual([null, 110]);
    expect(series.values[seriesKey.topic('orders', 'depth')]).toEqual([6, 9]);
  });

  it('keeps a node that stops answering, down, with its last good figures and no rate', () => {
    const model = new ClusterModel(1000);
    model.applyRound(0, [up('a:1', stats(100, 5))], []);
    model.applyRound(1000, [up('a:1', stats(150, 6))], []);
    model.applyRound(2000, [down('a:1')], []);
    const view = model.overview({ readOnly: false, canAct: true, user: null });
    expect(view.nodes[0]).toMatchObject({ address: 'a:1', up: false, error: 'connection refused', lastGoodAt: 1000, depth: 12 });
    expect(view.topics[0]).toMatchObject({ depth: 6, messageRate: null, stale: true });
    expect(model.topic('orders')?.nodes[0]).toMatchObject({ node: 'a:1', up: false });
  });

  it('lists a topic only a lookupd has, empty, beside those nsqd report', () => {
    const model = new ClusterModel(1000);
    model.applyRound(0, [up('a:1', stats(1, 1))], [], new Set(['orders', 'planned']));
    expect(model.overview({ readOnly: false, canAct: true, user: null }).topics.map((t) => [t.name, t.nodeCount])).toEqual([
      ['orders', 1],
      ['planned', 0],
    ]);
    expect(model.topic('planned')).toMatchObject({ name: 'planned', nodes: [], channels: [] });
  });

  it('drops a node no longer listed, and its topics with it', () => {
    const model = new ClusterModel(1000);
    model.applyRound(0, [up('a:1', stats(1, 1))], []);
    model.applyRound(1000, [], []);
    expect(model.overview({ readOnly: false, canAct: true, user: null }).topics).toEqual([]);
    expect(model.topic('orders')).toBeUndefined();
  });
});

describe('the worker user agent', () => {
  it('reads back what the runner sends, and nothing else', async () => {
    const { workerUserAgent } = await import('../../runner/ops/user-agent.ts');
    const { parseWorkerAgent } = await import('../../console/server/workers.ts');
    const agent = workerUserAgent({ topic: 'log', channel: 'pageview', task: 'store', deadLetterTopic: 'log.dead_letter', healthAddress: '127.0.0.1:9102' });
    expect(parseWorkerAgent(agent)).toEqual({ version: expect.any(String), topic: 'log', channel: 'pageview', task: 'store', deadLetterTopic: 'log.dead_letter', health: '127.0.0.1:9102' });
    const bare = workerUserAgent({ topic: 'log', channel: 'pageview', task: 'store', deadLetterTopic: undefined, healthAddress: undefined });
    expect(parseWorkerAgent(bare)).toMatchObject({ deadLetterTopic: null, health: null });
    expect(parseWorkerAgent('nsqworker/0.1.0')).toBeUndefined();
    expect(parseWorkerAgent('go-nsq/1.1.0')).toBeUndefined();
  });
});

describe('a worker read from several nsqd', () => {
  it('counts each process once, however many nsqd it reads the channel from', async () => {
    const { workerUserAgent } = await import('../../runner/ops/user-agent.ts');
    const { workersOf } = await import('../../console/server/workers.ts');
    const agent = workerUserAgent({ topic: 'orders', channel: 'billing', task: 'bill', deadLetterTopic: undefined, healthAddress: undefined });
    const client = (clientId: string, remote: string) => ({
      client_id: clientId, hostname: 'vm', remote_address: remote, state: 3, ready_count: 1, in_flight_count: 1, message_count: 5,
      finish_count: 5, requeue_count: 0, connect_ts: 1, user_agent: agent, deflate: false, snappy: false, tls: false,
    });
    // Two processes on one machine, and a third of the same host name and pid on another machine.
    const withClients = (): NsqStats => {
      const s = stats(10, 0);
      s.topics[0]!.channels[0]!.clients = [client('vm:11', '10.0.0.1:40001'), client('vm:12', '10.0.0.1:40002'), client('vm:11', '10.0.0.2:40001')];
      return s;
    };
    const model = new ClusterModel(1000);
    model.applyRound(0, [up('a:1', withClients()), up('b:1', withClients())], []);
    const [task] = workersOf(model)[0]!.tasks;
    expect(task).toMatchObject({ task: 'bill', processes: 3 });
    expect(task!.instances).toHaveLength(6);
  });
});

describe("a worker's health address and metrics", () => {
  it('is asked where nsqd sees the worker when it is bound to every interface or to a remote loopback', async () => {
    const { reachableHealth } = await import('../../console/server/workers.ts');
    expect(reachableHealth('0.0.0.0:9102', '10.0.0.7:51234')).toBe('10.0.0.7:9102');
    expect(reachableHealth('127.0.0.1:9102', '10.0.0.7:51234')).toBe('10.0.0.7:9102');
    expect(reachableHealth('127.0.0.1:9102', '127.0.0.1:51234')).toBe('127.0.0.1:9102');
    expect(reachableHealth('10.0.0.9:9102', '10.0.0.7:51234')).toBe('10.0.0.9:9102');
    expect(reachableHealth(null, '10.0.0.7:51234')).toBeNull();
  });

  it('reads the samples of a Prometheus text exposition', async () => {
    const { parsePrometheusText } = await import('../../console/server/worker-health.ts');
    const text = [
      '# HELP nsqworker_ready 1 when ready',
      '# TYPE nsqworker_ready gauge',
      'nsqworker_ready 1',
      'nsqworker_messages_finished_total{topic="log",channel="pageview.store",task="store"} 42',
      'odd{label="with \\"quotes\\""} 2.5',
      'not a sample',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      { name: 'nsqworker_ready', labels: {}, value: 1 },
      { name: 'nsqworker_messages_finished_total', labels: { topic: 'log', channel: 'pageview.store', task: 'store' }, value: 42 },
      { name: 'odd', labels: { label: 'with "quotes"' }, value: 2.5 },
    ]);
  });
});
