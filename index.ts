/**
 * nsqworker's public API. Every export is named here, and the list is pinned by
 * test/unit/public-api.test.ts.
 */

// Workers and the runner's config.
export { Worker, defineWorker } from './runner/worker/worker.ts';
export type { WorkerMessage, TaskContext, HookContext, Task, WorkerDefinition } from './runner/worker/worker.ts';
export { defineConfig } from './runner/config/config-file.ts';
export type { NsqworkerConfig } from './runner/config/config-file.ts';

// The client.
export { Consumer } from './client/consumer.ts';
export type { ConsumerConfig, ConsumerEvents, ConsumerWarning, MessageHandler, GiveUpHook, NsqdNodeInfo } from './client/consumer.ts';
export { LookupdDiscovery } from './client/lookupd-discovery.ts';
export type { LookupdDiscoveryEvents, LookupdDiscoveryOptionsInput } from './client/lookupd-discovery.ts';
export { Producer } from './client/producer.ts';
export type { ProducerEvents } from './client/producer.ts';
export { Message } from './client/message.ts';
export type { RequeueOptions } from './client/message.ts';
export { publishHttp } from './client/http-publish.ts';
export type { HttpPublishOptions } from './client/http-publish.ts';
export type { PublishBody } from './client/body.ts';
export { NsqClientError, ClientErrorCode, LookupError, HttpPublishError, RequeueMessage, GiveUpMessage } from './client/errors.ts';
export { ConsumerOptionsSchema, ProducerOptionsSchema } from './client/options.ts';
export type { ConsumerOptions, ConsumerOptionsInput, ProducerOptions, ProducerOptionsInput, TlsOption } from './client/options.ts';
export type { PublishRetryOptions } from './client/publish-retry.ts';

// The bundled servers.
export { startBroker, startLookupd } from './broker/start.ts';
export type { BrokerHandle } from './broker/nsqd/server.ts';
export type { BrokerOptionsInput as BrokerOptions } from './broker/nsqd/options.ts';
export type { LookupdHandle } from './broker/lookupd/server.ts';
export type { LookupdOptionsInput as LookupdOptions } from './broker/lookupd/options.ts';

// The wire protocol's shared vocabulary.
export { ProtocolError, ErrorCode } from './protocol/errors.ts';
export { isValidTopicName, isValidChannelName } from './protocol/names.ts';
