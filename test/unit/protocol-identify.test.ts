import { describe, expect, it } from 'vitest';
import { IdentifyRequestSchema, IdentifyResponseSchema } from '../../protocol/identify.ts';

/** What go-nsq 1.1.0 sends, including the two fields nsqd no longer reads. */
const GO_NSQ_IDENTIFY = {
  client_id: 'worker-1',
  hostname: 'worker-1.example',
  user_agent: 'go-nsq/1.1.0',
  short_id: 'worker-1',
  long_id: 'worker-1.example',
  feature_negotiation: true,
  heartbeat_interval: 30000,
  output_buffer_size: 16384,
  output_buffer_timeout: 250,
  tls_v1: false,
  snappy: false,
  deflate: false,
  deflate_level: 6,
  sample_rate: 0,
  msg_timeout: 0,
};

/** Parses a body as the broker would: bytes off the wire, JSON, then the schema. */
const parseBody = (text: string) => IdentifyRequestSchema.safeParse(JSON.parse(Buffer.from(text).toString()));

describe('IdentifyRequestSchema', () => {
  it("accepts go-nsq's body and drops the fields nsqd ignores", () => {
    const result = parseBody(JSON.stringify(GO_NSQ_IDENTIFY));
    expect(result.success).toBe(true);
    const { short_id: _short, long_id: _long, ...known } = GO_NSQ_IDENTIFY;
    expect(result.data).toEqual(known);
    expect(result.data).not.toHaveProperty('short_id');
  });

  it('accepts an empty body: every field is optional', () => {
    expect(parseBody('{}')).toEqual({ success: true, data: {} });
  });

  it('treats null as absent, as Go leaves the field at its default', () => {
    const result = parseBody('{"heartbeat_interval":null,"client_id":null,"snappy":null}');
    expect(result.success).toBe(true);
    expect(result.data?.heartbeat_interval ?? 'default').toBe('default');
  });

  it('takes the values the broker range-checks, such as -1 to disable', () => {
    expect(parseBody('{"heartbeat_interval":-1,"output_buffer_size":-1,"output_buffer_timeout":-1}').success).toBe(true);
  });

  it('fails on the wrong JSON type, as Go decoding does', () => {
    const wrong: Record<string, unknown>[] = [
      { heartbeat_interval: '30000' },
      { heartbeat_interval: 1.5 },
      { msg_timeout: true },
      { output_buffer_size: [] },
      { deflate_level: {} },
      { feature_negotiation: 'true' },
      { feature_negotiation: 1 },
      { tls_v1: 0 },
      { client_id: 7 },
      { hostname: false },
      { user_agent: ['x'] },
      // sample_rate is an int32 in nsqd.
      { sample_rate: 2 ** 31 },
      // Go's int is 64 bits; a JS number past 2^53 is not an integer we can trust.
      { msg_timeout: 2 ** 60 },
    ];
    for (const body of wrong) expect(parseBody(JSON.stringify(body)).success, JSON.stringify(body)).toBe(false);
  });

  it('keeps int32 bounds on sample_rate', () => {
    expect(IdentifyRequestSchema.safeParse({ sample_rate: 2147483647 }).success).toBe(true);
    expect(IdentifyRequestSchema.safeParse({ sample_rate: -2147483648 }).success).toBe(true);
    expect(IdentifyRequestSchema.safeParse({ sample_rate: -2147483649 }).success).toBe(false);
  });
});

/** nsqd 1.3.0's answer to IDENTIFY with feature negotiation, in its field order. */
const NSQD_RESPONSE =
  '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,' +
  '"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,' +
  '"output_buffer_size":16384,"output_buffer_timeout":250}';

describe('IdentifyResponseSchema', () => {
  it("parses nsqd's response and keeps nsqd's field order", () => {
    const parsed = IdentifyResponseSchema.parse(JSON.parse(NSQD_RESPONSE));
    expect(JSON.stringify(parsed)).toBe(NSQD_RESPONSE);
  });

  it('serialises a response built from the schema keys in nsqd order', () => {
    const keys = Object.keys(IdentifyResponseSchema.shape);
    expect(keys).toEqual(Object.keys(JSON.parse(NSQD_RESPONSE) as object));
  });

  it('accepts the topology fields of an nsqd newer than v1.3.0, and leaves them out', () => {
    const newer = { ...(JSON.parse(NSQD_RESPONSE) as Record<string, unknown>), topology_region: '', topology_zone: '' };
    const parsed = IdentifyResponseSchema.safeParse(newer);
    expect(parsed.success).toBe(true);
    expect(parsed.data).not.toHaveProperty('topology_zone');
  });

  it('ignores topology fields in a request, of any type, as nsqd v1.3.0 ignores unknown fields', () => {
    expect(IdentifyRequestSchema.safeParse({ topology_zone: 1, topology_region: ['r'] }).success).toBe(true);
  });

  it('assumes max_rdy_count 2500 when the server leaves it out', () => {
    const { max_rdy_count: _m, ...rest } = JSON.parse(NSQD_RESPONSE) as Record<string, unknown>;
    expect(IdentifyResponseSchema.parse(rest).max_rdy_count).toBe(2500);
  });

  it('rejects a response with a wrong type or a missing field', () => {
    const response = JSON.parse(NSQD_RESPONSE) as Record<string, unknown>;
    expect(IdentifyResponseSchema.safeParse({ ...response, tls_v1: 'false' }).success).toBe(false);
    expect(IdentifyResponseSchema.safeParse({ ...response, msg_timeout: '60s' }).success).toBe(false);
    const { snappy: _s, ...withoutSnappy } = response;
    expect(IdentifyResponseSchema.safeParse(withoutSnappy).success).toBe(false);
  });

  it('drops fields it does not know', () => {
    const parsed = IdentifyResponseSchema.parse({ ...(JSON.parse(NSQD_RESPONSE) as object), future_field: 1 });
    expect(parsed).not.toHaveProperty('future_field');
  });
});
