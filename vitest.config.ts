import { defineConfig } from 'vitest/config';
import UnitFilesLast from './test/support/sequencer.ts';

// Every child process a test starts (workers, brokers, tsc, npm) would load the extra CA bundle
// this variable names, 70-80 ms of CPU per start on machines that set it. The tests reach only
// 127.0.0.1 with certificates they make and name themselves, and install offline, so their
// processes start without it. Deleted here, before vitest forks its workers, so they inherit that.
delete process.env.NODE_EXTRA_CA_CERTS;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers and child processes, and wait on them: with two forks on
    // CI's two cores about a quarter of the CPU sat idle (user+sys 481 s in a 329 s run); a third
    // fork fills it (283 and 296 s where two forks took 328 s).
    pool: 'forks',
    maxWorkers: 3,
    // Each fork runs file after file without a fresh module graph: loading the sources again for
    // each of 120 files cost about 30 s of the run. Files share no state but what they clean up.
    isolate: false,
    sequence: { sequencer: UnitFilesLast },
  },
});
