/**
 * zod/mini ships without messages: every problem reads "Invalid input". Its English messages, passed to
 * each parse whose words reach users (the broker's and lookupd's options and flags:
 * `--mem-queue-size -5: Too small: expected number to be >=0`), and not set globally: zod and
 * zod/mini share one configuration, and a user's own locale (`z.config(z.locales.fr())`) stays theirs.
 */
import * as z from 'zod/mini';

/** The parse context that words a parse's issues in English: `schema.safeParse(input, ENGLISH)`. */
export const ENGLISH = { error: z.locales.en().localeError };
