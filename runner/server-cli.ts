/**
 * The command line of `nsqworker broker` (alias `nsqd`) and `nsqworker lookupd` (alias
 * `nsqlookupd`): the bin routes those here, so that a server process loads the server and its
 * flags, and none of the runner, the client, the file watcher or the metrics library.
 */
import { registerServerCommands } from './commands/servers.ts';
import { runStandaloneCli } from './standalone-cli.ts';

await runStandaloneCli(process.argv, registerServerCommands);
