/** Every fuzz target by name, in the order `npm run bench fuzz` runs them. */
import type { FuzzTarget } from '../target.ts';
import { v2CommandsTarget } from './v2-commands.ts';
import { v2SessionTarget } from './v2-session.ts';
import { lookupdV1Target } from './lookupd-v1.ts';
import { httpApiTarget } from './http-api.ts';
import { authTarget, identifyTarget } from './identify-auth.ts';
import { deflateTarget, snappyTarget } from './codecs.ts';
import { diskQueueTarget } from './disk-queue.ts';

export const FUZZ_TARGETS: ReadonlyMap<string, () => FuzzTarget> = new Map([
  ['v2-commands', v2CommandsTarget],
  ['v2-session', v2SessionTarget],
  ['lookupd-v1', lookupdV1Target],
  ['http-api', httpApiTarget],
  ['identify', identifyTarget],
  ['auth', authTarget],
  ['snappy', snappyTarget],
  ['deflate', deflateTarget],
  ['disk-queue', diskQueueTarget],
]);
