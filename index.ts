/**
 * nsqworker's public API. Every export is named here, and the list is pinned by a test.
 */
export { startBroker } from './broker/nsqd/server.ts';
export type { BrokerHandle } from './broker/nsqd/server.ts';
export type { BrokerOptionsInput as BrokerOptions } from './broker/nsqd/options.ts';
export { startLookupd } from './broker/lookupd/server.ts';
export type { LookupdHandle } from './broker/lookupd/server.ts';
export type { LookupdOptionsInput as LookupdOptions } from './broker/lookupd/options.ts';
export { ProtocolError, ErrorCode } from './protocol/errors.ts';
export { isValidTopicName, isValidChannelName } from './protocol/names.ts';
export { Worker, defineWorker } from './runner/worker.ts';
export type { WorkerMessage, TaskContext, HookContext, Task, WorkerDefinition } from './runner/worker.ts';
export { Consumer } from './client/consumer.ts';
export type { ConsumerConfig, MessageHandler, GiveUpHook, ConsumerEvents } from './client/consumer.ts';
export { Producer } from './client/producer.ts';
export { Message } from './client/message.ts';
export { RequeueMessage, GiveUpMessage, NsqClientError, ClientErrorCode } from './client/errors.ts';
export { publishHttp } from './client/http-publish.ts';
export { defineConfig } from './runner/config-file.ts';
export type { NsqworkerConfig } from './runner/config-file.ts';
