/**
 * The one loop that asks the cluster: every interval, lookupd's `/nodes` for the nsqd it knows, then
 * each nsqd's `/stats`, all at once. A round never overlaps the next (a slow broker delays the next
 * round instead of stacking requests), and browsers never trigger a poll: they read the model.
 */
import type { Logger } from 'pino';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import type { ClusterModel, LookupdState, NodeResult } from './cluster.ts';
import type { UpstreamClient } from './http-client.ts';
import { readNodes, readStats, type LookupdNode } from './nsq-types.ts';

export interface PollerOptions {
  nsqdHttpAddresses: readonly string[];
  lookupdHttpAddresses: readonly string[];
  intervalMs: number;
  upstream: UpstreamClient;
  model: ClusterModel;
  logger: Logger;
}

interface KnownNode {
  address: string;
  source: NodeResult['source'];
  hostname: string | undefined;
  tcpAddress: string | undefined;
  tombstones: string[];
}

export class ClusterPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Nodes last listed by each lookupd, kept while that lookupd does not answer. */
  private readonly fromLookupd = new Map<string, LookupdNode[]>();
  /** Topics each lookupd lists (`/topics`): some may be on no nsqd yet (created through lookupd). */
  private readonly topicsFromLookupd = new Map<string, string[]>();
  /** What /info said of a node given by address: lookupd's /nodes says it of the others. */
  private readonly infos = new Map<string, { hostname: string; tcpAddress: string }>();
  private readonly roundListeners = new Set<() => void>();

  constructor(private readonly options: PollerOptions) {}

  /** Polls now, then every interval; resolves once the first round is in. */
  async start(): Promise<void> {
    await this.round();
    this.schedule();
  }

  /** Resolves after the next completed round (tests and `dev` wait on it instead of sleeping). */
  nextRound(): Promise<void> {
    return new Promise((resolve) => {
      const listener = () => {
        this.roundListeners.delete(listener);
        resolve();
      };
      this.roundListeners.add(listener);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private round(): Promise<void> {
    this.running = this.poll().catch((error: unknown) => this.options.logger.error({ err: error }, 'console poll failed'));
    return this.running;
  }

  private async poll(): Promise<void> {
    const lookupds = await Promise.all(this.options.lookupdHttpAddresses.map((address) => this.pollLookupd(address)));
    const nodes = this.knownNodes();
    const results = await Promise.all(nodes.map((node) => this.pollNode(node)));
    if (this.closed) return;
    this.options.model.applyRound(Date.now(), results, lookupds, new Set([...this.topicsFromLookupd.values()].flat()));
    for (const listener of [...this.roundListeners]) listener();
  }

  private async pollLookupd(address: string): Promise<LookupdState> {
    try {
      const [nodes, topics] = await Promise.all([this.options.upstream.getJson(`http://${address}/nodes`), this.options.upstream.getJson(`http://${address}/topics`)]);
      this.fromLookupd.set(address, readNodes(nodes));
      const listed = (topics as { topics?: unknown }).topics;
      this.topicsFromLookupd.set(address, Array.isArray(listed) ? listed.filter((t): t is string => typeof t === 'string') : []);
      return { address, up: true, error: null };
    } catch (error) {
      return { address, up: false, error: (error as Error).message };
    }
  }

  /** The nsqd given on the command line, then those lookupd lists, by HTTP address. */
  private knownNodes(): KnownNode[] {
    const nodes = new Map<string, KnownNode>();
    for (const address of this.options.nsqdHttpAddresses) {
      const info = this.infos.get(address);
      nodes.set(address, { address, source: 'nsqd-http-address', hostname: info?.hostname, tcpAddress: info?.tcpAddress, tombstones: [] });
    }
    for (const listed of this.fromLookupd.values()) {
      for (const producer of listed) {
        const address = joinHostPort(producer.broadcast_address, producer.http_port);
        const tombstones = producer.topics.filter((_, i) => producer.tombstones[i]);
        const known = nodes.get(address);
        const tcpAddress = joinHostPort(producer.broadcast_address, producer.tcp_port);
        if (known !== undefined) {
          known.hostname = producer.hostname;
          known.tcpAddress = tcpAddress;
          known.tombstones = [...new Set([...known.tombstones, ...tombstones])];
        } else nodes.set(address, { address, source: 'lookupd', hostname: producer.hostname, tcpAddress, tombstones });
      }
    }
    return [...nodes.values()];
  }

  private async pollNode(node: KnownNode): Promise<NodeResult> {
    const base = { address: node.address, source: node.source, tombstones: node.tombstones };
    try {
      const stats = readStats(await this.options.upstream.getJson(`http://${node.address}/stats?format=json&include_mem=false`));
      // /stats has neither host name nor TCP port; a node given by address is asked /info once.
      if (node.hostname === undefined || node.tcpAddress === undefined) Object.assign(node, await this.infoOf(node.address));
      return { ...base, hostname: node.hostname, tcpAddress: node.tcpAddress, outcome: { stats } };
    } catch (error) {
      return { ...base, hostname: node.hostname, tcpAddress: node.tcpAddress, outcome: { error: (error as Error).message } };
    }
  }

  private async infoOf(address: string): Promise<{ hostname?: string; tcpAddress?: string }> {
    try {
      const info = (await this.options.upstream.getJson(`http://${address}/info`)) as { hostname?: unknown; tcp_port?: unknown };
      if (typeof info.hostname === 'string' && typeof info.tcp_port === 'number') {
        // The TCP port on the host we reach its HTTP API at, as nsqadmin does.
        this.infos.set(address, { hostname: info.hostname, tcpAddress: joinHostPort(parseHostPort(address).host, info.tcp_port) });
      }
    } catch {
      // Asked again at the next poll.
    }
    return this.infos.get(address) ?? {};
  }
}
