import { describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/start.ts';

describe('startBroker options', () => {
  it('refuses a bad value or an unknown key with E_BROKER_INVALID_OPTIONS naming it, before listening', async () => {
    // msgTimeout for msgTimeoutMs was dropped without a word, and the broker ran on nsqd's default.
    await expect(startBroker({ msgTimeout: 5000 } as never)).rejects.toMatchObject({
      name: 'BrokerOptionsError',
      code: 'E_BROKER_INVALID_OPTIONS',
      message: 'invalid broker options: Unrecognized key: "msgTimeout"',
    });
    // A bad value was a raw ZodError with a JSON dump for its message.
    await expect(startBroker({ memQueueSize: -5 })).rejects.toMatchObject({
      code: 'E_BROKER_INVALID_OPTIONS',
      message: 'invalid broker options: memQueueSize: Too small: expected number to be >=0',
    });
  });
});
