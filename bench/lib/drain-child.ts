/**
 * One drain in a process of its own, for runner-instructions.ts to count under callgrind:
 * `node --import tsx bench/lib/drain-child.ts <bare|runner> <host:port> <topic> <count>`. It says
 * `ready` on stdout once loaded, and drains when a line comes on stdin: the parent zeroes callgrind's
 * counters in between, so the start is not counted.
 */
import { once } from 'node:events';
import { drain, type DrainKind } from './runner-drains.ts';

const [kind, address, topic, count] = process.argv.slice(2);
if ((kind !== 'bare' && kind !== 'runner') || address === undefined || topic === undefined || !(Number(count) > 0)) {
  process.stderr.write('usage: drain-child.ts <bare|runner> <host:port> <topic> <count>\n');
  process.exit(2);
}
process.stdout.write('ready\n');
await once(process.stdin, 'data');
await drain(kind as DrainKind, address, topic, Number(count));
process.exit(0);
