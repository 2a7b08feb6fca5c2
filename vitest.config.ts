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
    // Integration tests start real servers and child processes; two cores are all CI has. (A third
    // fork ran the suite faster once by hand, but slower under .ci/run: 313 and 341 s against 297 to
    // 318 s with two.)
    pool: 'forks',
    maxWorkers: 2,
    // Each fork runs file after file without a fresh module graph: loading the sources again for
    // each of 120 files cost about 30 s of the run. Files share no state but what they clean up.
    isolate: false,
    sequence: { sequencer: UnitFilesLast },
  },
});
