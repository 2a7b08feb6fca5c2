/**
 * The runner's settings, declared once. The schema owns every default and bound; flags, environment
 * variables and config-file keys all derive from it. Precedence: schema defaults < nsqworker.config.ts
 * < NSQWORKER_* environment < command line.
 */
import { z } from 'zod';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { SecuritySettingsShape } from './client-security.ts';
import { parseHealthAddress } from './health-address.ts';
import { isHostPort } from '../../protocol/address.ts';

const topic = z.string().refine(isValidTopicName, { message: 'not a valid topic name: ^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes' });
const channel = z.string().refine(isValidChannelName, { message: 'not a valid channel name: ^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes' });
const int = z.number().int();
const healthAddress = z.string().refine(
  (value) => {
    if (value === '') return true;
    try {
      parseHealthAddress(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: "expected host:port (e.g. 127.0.0.1:9102), or '' for none" },
);


/** Addresses are checked here, so a malformed one is named by its flag, variable or key before anything connects. */
const hostPort = z.string().refine(isHostPort, { message: 'expected host:port (e.g. 127.0.0.1:4150)' });
const httpAddress = z.string().refine((value) => isHostPort(value) || /^https?:\/\/[^/\s]+/i.test(value), {
  message: 'expected host:port or an http(s) URL (e.g. 127.0.0.1:4161)',
});

export const RunnerSettingsShape = {
  workersDir: z.string().default('workers').describe('folder holding <topic>/<topic>_<channel>_worker.ts files'),
  nsqdTcpAddresses: z.array(hostPort).default([]).describe('nsqd TCP address to use instead of the embedded broker'),
  nsqdHttpAddresses: z
    .array(httpAddress)
    .default([])
    .describe("HTTP address of each --nsqd-tcp-address's nsqd, in the same order (default: its TCP port + 1, if that nsqd answers there)"),
  lookupdHttpAddresses: z.array(httpAddress).default([]).describe('nsqlookupd HTTP address to discover nsqd through'),
  lookupdPollIntervalMs: int.min(10).default(60_000).describe('how often lookupd is asked for the nsqd of the topic'),
  maxInFlight: int.min(1).default(1).describe('messages each task may hold in flight'),
  maxAttempts: int.min(0).default(5).describe('deliveries before a message is dead-lettered (0 = unlimited)'),
  requeueDelayMs: int.min(0).default(90_000).describe('requeue delay per attempt of a failed task'),
  maxBackoffDurationMs: int.min(0).default(120_000).describe('longest pause of a task after failures (0 = no backoff)'),
  dedupQueueSize: int.min(0).default(10_000).describe('ids of processed messages each task remembers (0 = off)'),
  deadLetterTopic: z.string().default('{topic}.dead_letter').describe("topic for messages given up on ('' = none)"),
  topicPrefix: z.string().default('').describe('prefix added to every topic name (e.g. staging_)'),
  shutdownTimeoutMs: int.min(0).default(30_000).describe('how long running tasks may finish on shutdown'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('log level'),
  dataPath: z.string().default('.nsqworker').describe('data path of the embedded broker'),
  brokerTcpAddress: hostPort.default('127.0.0.1:4150').describe('TCP address of the embedded broker'),
  brokerHttpAddress: hostPort.default('127.0.0.1:4151').describe('HTTP address of the embedded broker'),
  watch: z.boolean().default(false).describe('reload the worker when its files or the config change (development)'),
  healthAddress: healthAddress.default('').describe("serve /healthz and Prometheus /metrics on host:port ('' = off)"),
  ...SecuritySettingsShape,
};

export const RunnerSettingsSchema = z.object(RunnerSettingsShape).strict();
export type RunnerSettings = z.output<typeof RunnerSettingsSchema>;

/** The settings of one run: which worker, and the runner's settings. */
export const RunSettingsSchema = z
  .object({
    topic: topic.describe('the topic to consume: the worker folder workers/<topic>/'),
    channel: channel.describe('the channel: the worker file <topic>_<channel>_worker.ts'),
    ...RunnerSettingsShape,
  })
  .strict();
export type RunSettings = z.output<typeof RunSettingsSchema>;

/** Flags named as NSQ's own tools name them (singular, repeatable). */
export const FLAG_NAMES: Readonly<Record<string, string>> = {
  nsqdTcpAddresses: 'nsqd-tcp-address',
  nsqdHttpAddresses: 'nsqd-http-address',
  lookupdHttpAddresses: 'lookupd-http-address',
};

/** The dead-letter topic for a worker's topic, or undefined when dead-lettering is off. */
export function deadLetterTopicFor(settings: Pick<RunSettings, 'deadLetterTopic' | 'topicPrefix'>, topicName: string): string | undefined {
  if (settings.deadLetterTopic === '') return undefined;
  return settings.topicPrefix + settings.deadLetterTopic.replaceAll('{topic}', topicName);
}
