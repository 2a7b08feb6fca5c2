/** The package's runtime exports, pinned: adding or removing one is a decision, not an accident. */
import { expect, it } from 'vitest';
import * as api from '../../index.ts';

it('exports exactly the public API', () => {
  expect(Object.keys(api).sort()).toEqual([
    'ClientErrorCode',
    'Consumer',
    'ConsumerOptionsSchema',
    'ErrorCode',
    'GiveUpMessage',
    'HttpPublishError',
    'LookupError',
    'LookupdDiscovery',
    'Message',
    'NsqClientError',
    'Producer',
    'ProducerOptionsSchema',
    'ProtocolError',
    'RequeueMessage',
    'Worker',
    'defineConfig',
    'defineWorker',
    'isValidChannelName',
    'isValidTopicName',
    'publishHttp',
    'startBroker',
    'startLookupd',
  ]);
});
