/**
 * IDENTIFY: the JSON body a client sends and the JSON nsqd answers with when the client asked for
 * feature negotiation. Bounds that depend on the server's flags are checked by the broker; these
 * schemas carry the types, which Go's decoder enforces strictly (a string where an int belongs
 * fails the whole body). Unknown fields are dropped, as nsqd ignores them.
 */
import { z } from 'zod';

const int = z.number().int();

/** What a client may send. Every field is optional; `null` counts as absent, as with Go's decoder. */
export const IdentifyRequestSchema = z.object({
  client_id: z.string().nullish(),
  hostname: z.string().nullish(),
  user_agent: z.string().nullish(),
  feature_negotiation: z.boolean().nullish(),
  heartbeat_interval: int.nullish(),
  output_buffer_size: int.nullish(),
  output_buffer_timeout: int.nullish(),
  tls_v1: z.boolean().nullish(),
  snappy: z.boolean().nullish(),
  deflate: z.boolean().nullish(),
  deflate_level: int.nullish(),
  sample_rate: int.min(-2147483648).max(2147483647).nullish(),
  msg_timeout: int.nullish(),
  topology_region: z.string().nullish(),
  topology_zone: z.string().nullish(),
});

export type IdentifyRequest = z.infer<typeof IdentifyRequestSchema>;

/** nsqd's negotiated answer, fields in the order nsqd writes them. */
export const IdentifyResponseSchema = z.object({
  // Clients are told to assume 2500 when a server leaves it out (go-nsq and pynsq do).
  max_rdy_count: int.default(2500),
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
  topology_region: z.string().optional(),
  topology_zone: z.string().optional(),
});

export type IdentifyResponse = z.infer<typeof IdentifyResponseSchema>;
