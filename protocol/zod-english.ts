/**
 * zod/mini ships without messages: every problem reads "Invalid input". Its English messages are set
 * here, once, for the checks whose words reach users (the broker's and lookupd's options and flags:
 * `--mem-queue-size -5: Too small: expected number to be >=0`). zod's full build sets the same
 * locale as it loads, so a process that has both reads the same words from each.
 */
import * as z from 'zod/mini';

z.config(z.locales.en());
