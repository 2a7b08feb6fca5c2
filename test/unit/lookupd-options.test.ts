import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressError, joinHostPort, parseHostPort } from '../../protocol/address.ts';
import {
  LOOKUPD_FLAGS,
  LookupdError,
  LookupdErrorCode,
  LookupdOptionsSchema,
  resolveLookupdOptions,
  startLookupd,
} from '../../broker/lookupd/index.ts';
import { filterActive, RegistrationDb, tombstone, WILDCARD, type PeerInfo } from '../../broker/lookupd/registry.ts';
import { parseDurationMs } from '../../protocol/duration.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('lookupd options', () => {
  it("has nsqlookupd's defaults", () => {
    const options = resolveLookupdOptions();
    expect(options).toMatchObject({
      tcpAddress: '0.0.0.0:4160',
      httpAddress: '0.0.0.0:4161',
      broadcastAddress: hostname(),
      inactiveProducerTimeoutMs: 300_000,
      tombstoneLifetimeMs: 45_000,
    });
    expect(typeof options.logger.info).toBe('function');
  });

  it('refuses bad addresses and durations with a typed error', () => {
    for (const input of [{ tcpAddress: 'nocolon' }, { httpAddress: 'h:99999' }, { tombstoneLifetimeMs: -1 }, { inactiveProducerTimeoutMs: 1.5 }]) {
      let caught: unknown;
      try {
        resolveLookupdOptions(input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(LookupdError);
      expect((caught as LookupdError).code).toBe(LookupdErrorCode.InvalidOptions);
    }
  });

  it('has one flag per option, named as nsqlookupd names them, with Go duration defaults', () => {
    const optionKeys = Object.keys(LookupdOptionsSchema.shape).filter((k) => k !== 'logger').sort();
    expect(LOOKUPD_FLAGS.map((f) => f.option).sort()).toEqual(optionKeys);
    expect(LOOKUPD_FLAGS.map((f) => f.flag)).toEqual([
      'tcp-address',
      'http-address',
      'broadcast-address',
      'inactive-producer-timeout',
      'tombstone-lifetime',
    ]);
    const defaults = resolveLookupdOptions();
    for (const flag of LOOKUPD_FLAGS) {
      const expected = flag.kind === 'duration' ? parseDurationMs(flag.default) : flag.default;
      expect(defaults[flag.option]).toBe(expected);
    }
  });

  it('parses and joins host:port as Go does', () => {
    expect(parseHostPort('127.0.0.1:4160')).toEqual({ host: '127.0.0.1', port: 4160 });
    expect(parseHostPort(':4160')).toEqual({ host: '', port: 4160 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['::1:4160', 'host', 'host:', 'host:-1', 'host:65536', '[::1]4160']) {
      expect(() => parseHostPort(bad), bad).toThrow(AddressError);
    }
    expect(joinHostPort('::1', 5)).toBe('[::1]:5');
    expect(joinHostPort('h', 5)).toBe('h:5');
  });

  it('rejects with E_LOOKUPD_LISTEN_FAILED when a port is taken, and close() is idempotent', async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    await expect(startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: `127.0.0.1:${port}` })).rejects.toMatchObject({
      code: LookupdErrorCode.ListenFailed,
    });
    const lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0' });
    expect(lookupd.tcpAddress).toBe(`127.0.0.1:${lookupd.tcpPort}`);
    await Promise.all([lookupd.close(), lookupd.close()]);
    await lookupd.close();
  });
});

describe('lookupd registry', () => {
  const peer = (id: string, lastUpdateMs = 1000): PeerInfo => ({
    id,
    remoteAddress: id,
    hostname: 'h',
    broadcastAddress: id,
    tcpPort: 1,
    httpPort: 2,
    version: 'v',
    lastUpdateMs,
  });

  it('finds with wildcards and de-duplicates producers per peer', () => {
    const db = new RegistrationDb();
    const a = peer('a');
    db.addProducer({ category: 'channel', key: 't1', subKey: 'c' }, a);
    db.addProducer({ category: 'channel', key: 't2', subKey: 'c' }, a);
    db.addProducer({ category: 'topic', key: 't1', subKey: '' }, a);
    expect(db.addProducer({ category: 'topic', key: 't1', subKey: '' }, a)).toBe(false);
    expect(db.findRegistrations('channel', WILDCARD, 'c').map((r) => r.key)).toEqual(['t1', 't2']);
    expect(db.findRegistrations('channel', 't1', WILDCARD).map((r) => r.subKey)).toEqual(['c']);
    expect(db.findProducers('channel', WILDCARD, WILDCARD)).toHaveLength(1);
    expect(db.findRegistrations('topic', 'nope', '')).toEqual([]);
    expect(db.lookupRegistrations('a')).toHaveLength(3);
    expect(db.removePeer('a')).toHaveLength(3);
    expect(db.findRegistrations('channel', WILDCARD, WILDCARD)).toHaveLength(2);
    expect(db.removeProducer({ category: 'topic', key: 'gone', subKey: '' }, 'a')).toEqual({ removed: false, left: 0 });
    db.removeRegistration({ category: 'channel', key: 't1', subKey: 'c' });
    expect(db.findRegistrations('channel', 't1', WILDCARD)).toEqual([]);
    expect(db.findRegistrations('channel', WILDCARD, WILDCARD).map((r) => r.key)).toEqual(['t2']);
    db.addRegistration({ category: 'channel', key: 't1', subKey: 'd' });
    expect(db.findRegistrations('channel', 't1', WILDCARD).map((r) => r.subKey)).toEqual(['d']);
  });

  it('judges activity and tombstones at query time', () => {
    const db = new RegistrationDb();
    const key = { category: 'topic', key: 't', subKey: '' } as const;
    db.addProducer(key, peer('old', 0));
    db.addProducer(key, peer('new', 900));
    const producers = db.findProducers('topic', 't', '');
    expect(filterActive(producers, 1000, 100, 45).map((p) => p.peer.id)).toEqual(['new']);
    // The boundary counts as active: only strictly older than the timeout is hidden.
    expect(filterActive(producers, 1000, 1000, 45)).toHaveLength(2);
    tombstone(producers[1]!, 1000);
    expect(filterActive(producers, 1044, 10_000, 45).map((p) => p.peer.id)).toEqual(['old']);
    expect(filterActive(producers, 1045, 10_000, 45)).toHaveLength(2);
    expect(filterActive(producers, 1001, 10_000, 0)).toHaveLength(2);
  });
});
