/**
 * Run-time failures of the `pub`, `tail` and `stats` tools, each with a stable code. They exit with
 * status 1; a bad flag is a {@link UsageError} from runner/config/flags.ts and exits with 2.
 */

import { CodedError } from '../../protocol/coded-error.ts';

export const ToolErrorCode = {
  /** nsqd refused a publish, or no nsqd could be reached. */
  PublishFailed: 'E_TOOL_PUBLISH_FAILED',
  /** An nsqd or lookupd HTTP query failed or answered something unreadable. */
  QueryFailed: 'E_TOOL_QUERY_FAILED',
  /** The channel asked for is on no nsqd that has the topic (nsq_stat stops on this too). */
  ChannelNotFound: 'E_TOOL_CHANNEL_NOT_FOUND',
  /** Reading standard input failed. */
  InputFailed: 'E_TOOL_INPUT_FAILED',
  /** tail's first connection to an nsqd given by address failed (nsq_tail exits on this too). */
  ConnectFailed: 'E_TOOL_CONNECT_FAILED',
} as const;

export type ToolErrorCode = (typeof ToolErrorCode)[keyof typeof ToolErrorCode];

export class ToolError extends CodedError<ToolErrorCode> {
  override readonly name = 'ToolError';
}
