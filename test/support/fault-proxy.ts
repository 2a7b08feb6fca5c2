/**
 * A TCP proxy on loopback that injects faults between a client and a server: it can cut every
 * connection mid-stream, stop forwarding (a silent peer), send garbage to the client, or refuse
 * new connections.
 */
import net from 'node:net';

interface Pair {
  client: net.Socket;
  server: net.Socket;
}

export class FaultProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private forwarding = true;
  private refusing = false;
  /** Connections accepted since the start. */
  accepted = 0;

  constructor(private readonly target: string) {}

  /** Starts listening; resolves with `127.0.0.1:PORT`. */
  async start(port = 0): Promise<string> {
    const colon = this.target.lastIndexOf(':');
    const host = this.target.slice(0, colon);
    const targetPort = Number(this.target.slice(colon + 1));
    this.server = net.createServer((client) => {
      this.accepted++;
      client.on('error', () => {});
      if (this.refusing) {
        client.destroy();
        return;
      }
      const server = net.connect({ host, port: targetPort });
      server.on('error', () => client.destroy());
      client.on('error', () => server.destroy());
      const pair: Pair = { client, server };
      this.pairs.add(pair);
      const drop = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        server.destroy();
      };
      client.on('close', drop);
      server.on('close', drop);
      client.on('data', (chunk) => {
        if (this.forwarding) server.write(chunk);
      });
      server.on('data', (chunk) => {
        if (this.forwarding) client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  get connectionCount(): number {
    return this.pairs.size;
  }

  /** Cuts every open connection at once (both sides see a reset/close). */
  cutAll(): void {
    for (const { client, server } of [...this.pairs]) {
      client.destroy();
      server.destroy();
    }
  }

  /** Drops everything in both directions from now on, keeping the sockets open. */
  stopForwarding(): void {
    this.forwarding = false;
  }

  resumeForwarding(): void {
    this.forwarding = true;
  }

  /** Writes bytes to every client as if the server had sent them. */
  injectToClients(bytes: Buffer | string): void {
    for (const { client } of this.pairs) client.write(bytes);
  }

  /** Closes new connections as soon as they are accepted. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cutAll();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
