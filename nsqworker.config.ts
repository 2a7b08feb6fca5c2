/**
 * The example project's config. Every key is optional; the schema's defaults apply to the rest.
 * Precedence: these values < NSQWORKER_* environment variables < command-line flags.
 */
import { defineConfig } from 'nsqworker';

export default defineConfig({
  workersDir: 'workers',
  maxInFlight: 10,
  // A failed task is retried after 2s × attempts, and dead-lettered after the 5th attempt.
  requeueDelayMs: 2000,
  maxAttempts: 5,
  workers: {
    'log/pageview': { slowThresholdMs: 300 },
  },
});
