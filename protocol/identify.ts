/**
 * IDENTIFY: the JSON body a client sends and the JSON nsqd answers with when the client asked for
 * feature negotiation. Bounds that depend on the server's flags are checked by the broker; these
 * schemas carry the types, which Go's decoder enforces strictly (a string where an int belongs
 * fails the whole body). Unknown fields are dropped, as nsqd ignores them.
 */
// zod/mini: the bundled broker carries only the functions it uses (scripts/bundle.mjs).
import * as z from 'zod/mini';

const int = z.int();

/** What a client may send. Every field is optional; `null` counts as absent, as with Go's decoder. */
export const IdentifyRequestSchema = z.object({
  client_id: z.nullish(z.string()),
  hostname: z.nullish(z.string()),
  user_agent: z.nullish(z.string()),
  feature_negotiation: z.nullish(z.boolean()),
  heartbeat_interval: z.nullish(int),
  output_buffer_size: z.nullish(int),
  output_buffer_timeout: z.nullish(int),
  tls_v1: z.nullish(z.boolean()),
  snappy: z.nullish(z.boolean()),
  deflate: z.nullish(z.boolean()),
  deflate_level: z.nullish(int),
  sample_rate: z.nullish(z.int().check(z.minimum(-2147483648), z.maximum(2147483647))),
  msg_timeout: z.nullish(int),
  // nsqd v1.3.0 has no topology_region / topology_zone (they came after): like any unknown field,
  // they are ignored, whatever their type.
});

export type IdentifyRequest = z.infer<typeof IdentifyRequestSchema>;

/** nsqd's negotiated answer, fields in the order nsqd writes them. */
export const IdentifyResponseSchema = z.object({
  // Clients are told to assume 2500 when a server leaves it out (go-nsq and pynsq do).
  max_rdy_count: z._default(int, 2500),
  version: z.string(),
  max_msg_timeout: int,
  msg_timeout: int,
  tls_v1: z.boolean(),
  deflate: z.boolean(),
  deflate_level: int,
  max_deflate_level: int,
  snappy: z.boolean(),
  sample_rate: int,
  auth_required: z.boolean(),
  output_buffer_size: int,
  output_buffer_timeout: int,
});

export type IdentifyResponse = z.infer<typeof IdentifyResponseSchema>;
