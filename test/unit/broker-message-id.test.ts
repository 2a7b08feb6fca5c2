/**
 * Message ids as nsqd v1.3.0 makes them (nsqd/guid.go): a 64-bit snowflake
 * `(ms since 1288834974288 << 22) | (node id << 12) | sequence`, as 16 lowercase hex characters,
 * unique and increasing even past 4,096 ids in one millisecond or when the clock goes back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageIdGenerator } from '../../broker/nsqd/message-id.ts';

const NSQ_EPOCH_MS = 1288834974288;

function decode(id: string): { ms: number; nodeId: number; sequence: number } {
  const value = BigInt(`0x${id}`);
  return { ms: Number(value >> 22n) + NSQ_EPOCH_MS, nodeId: Number((value >> 12n) & 0x3ffn), sequence: Number(value & 0xfffn) };
}

afterEach(() => vi.useRealTimers());

describe('MessageIdGenerator', () => {
  it('makes 16 lowercase hex characters holding the time, the node id and a sequence', () => {
    vi.useFakeTimers({ now: 1_796_000_000_123 });
    const ids = new MessageIdGenerator(987);
    const first = ids.next();
    const second = ids.next();
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(decode(first)).toEqual({ ms: 1_796_000_000_123, nodeId: 987, sequence: 0 });
    expect(decode(second)).toEqual({ ms: 1_796_000_000_123, nodeId: 987, sequence: 1 });
  });

  it('writeNext writes the bytes of the id next would make', () => {
    vi.useFakeTimers({ now: 1_796_000_000_000 });
    const strings = new MessageIdGenerator(5);
    const bytes = new MessageIdGenerator(5);
    const target = Buffer.alloc(20, 0x2e);
    for (let i = 0; i < 5000; i++) {
      bytes.writeNext(target, 2);
      expect(target.toString('latin1', 2, 18)).toBe(strings.next());
    }
    // Nothing outside the 16 bytes is touched; 16 bytes that do not fit are refused, none written.
    expect(target.toString('latin1', 0, 2) + target.toString('latin1', 18)).toBe('....');
    const tail = Buffer.alloc(20, 0x2e);
    expect(() => bytes.writeNext(tail, 5)).toThrow(RangeError);
    expect(tail).toEqual(Buffer.alloc(20, 0x2e));
  });

  it('stays unique and increasing past 4,096 ids in one millisecond, and when the clock goes back', () => {
    vi.useFakeTimers({ now: 1_796_000_000_000 });
    const ids = new MessageIdGenerator(1);
    const made: string[] = [];
    for (let i = 0; i < 10_000; i++) made.push(ids.next());
    vi.setSystemTime(1_795_999_999_000);
    for (let i = 0; i < 10; i++) made.push(ids.next());
    vi.setSystemTime(1_796_000_001_000);
    made.push(ids.next());
    expect(new Set(made).size).toBe(made.length);
    for (let i = 1; i < made.length; i++) expect(made[i]! > made[i - 1]!).toBe(true);
    expect(decode(made[4096]!)).toEqual({ ms: 1_796_000_000_001, nodeId: 1, sequence: 0 });
    expect(decode(made.at(-1)!)).toEqual({ ms: 1_796_000_001_000, nodeId: 1, sequence: 0 });
  });

  it('writes every hex digit of a time whose parts have leading zeros', () => {
    // ms since the epoch = 1024: the high 32 bits are 1, the low 10 bits of the time 0.
    vi.useFakeTimers({ now: NSQ_EPOCH_MS + 1024 });
    expect(new MessageIdGenerator(0).next()).toBe('0000000100000000');
    vi.setSystemTime(NSQ_EPOCH_MS + 1);
    expect(new MessageIdGenerator(0).next()).toBe('0000000000400000');
  });
});
