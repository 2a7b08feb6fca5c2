/**
 * nsqjs as a consumer process of its own, for the worker drain row: a Reader with `--max-in-flight`
 * that finishes every message and does nothing else, until it is killed. The benchmark times it
 * from the outside, by the channel's depth, as it times the worker and bench_reader.
 *
 * Run (spawned by bench/worker-drain.ts): tsx bench/lib/nsqjs-drain.ts --nsqd-tcp-address 127.0.0.1:4150
 *   --topic T --channel C --max-in-flight 1000
 */
import { parseArgs } from 'node:util';
import nsq from 'nsqjs';

const { values } = parseArgs({
  options: {
    'nsqd-tcp-address': { type: 'string', default: '127.0.0.1:4150' },
    topic: { type: 'string', default: 'sub_bench' },
    channel: { type: 'string', default: 'ch' },
    'max-in-flight': { type: 'string', default: '1000' },
  },
});

const reader = new nsq.Reader(values.topic, values.channel, {
  nsqdTCPAddresses: [values['nsqd-tcp-address']],
  maxInFlight: Number(values['max-in-flight']),
});
reader.on('message', (message) => message.finish());
reader.on('error', (error) => {
  console.error(`nsqjs reader: ${error.message}`);
  process.exit(1);
});
reader.connect();
