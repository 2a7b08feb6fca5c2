/** `within`: a promise's value, or undefined once the time is up; a rejection in time passes through. */
import { describe, expect, it } from 'vitest';
import { within } from '../../client/within.ts';

describe('within', () => {
  it('gives the value of a promise that settles in time, and undefined for one that never does', async () => {
    expect(await within(Promise.resolve(7), 10_000)).toBe(7);
    expect(await within(new Promise<number>(() => {}), 0)).toBeUndefined();
  });

  it('passes a rejection in time through', async () => {
    await expect(within(Promise.reject(new Error('no')), 10_000)).rejects.toThrow('no');
  });
});
