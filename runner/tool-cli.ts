/**
 * The command line of `nsqworker pub`, `nsqworker tail` and `nsqworker stats` (NSQ's to_nsq,
 * nsq_tail and nsq_stat): the bin routes those here, so that a tool loads the client and its flags,
 * and none of the runner, the server, the file watcher or the metrics library.
 */
import { registerToolCommands } from './commands/tools.ts';
import { exitQuietlyWhenStdoutCloses } from './one-shot-exit.ts';
import { runStandaloneCli } from './standalone-cli.ts';

exitQuietlyWhenStdoutCloses();
await runStandaloneCli(process.argv, registerToolCommands);
