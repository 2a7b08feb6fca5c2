/** What nsqd v1.3.0 answers, for tests that play nsqd or check a broker against it. */

/** The IDENTIFY feature-negotiation answer with default flags, in nsqd's field order, with overrides. */
export function nsqdIdentifyAnswer(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    max_rdy_count: 2500,
    version: '1.3.0',
    max_msg_timeout: 900000,
    msg_timeout: 60000,
    tls_v1: false,
    deflate: false,
    deflate_level: 6,
    max_deflate_level: 6,
    snappy: false,
    sample_rate: 0,
    auth_required: false,
    output_buffer_size: 16384,
    output_buffer_timeout: 250,
    ...overrides,
  });
}
