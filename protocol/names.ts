/** Topic and channel names, with the rules nsqd, nsqlookupd and go-nsq share. */

const NAME_PATTERN = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;
const MAX_NAME_LENGTH = 64;
const EPHEMERAL_SUFFIX = '#ephemeral';

/** True for a valid topic or channel name: `^[.a-zA-Z0-9_-]+(#ephemeral)?$`, 1..64 bytes. */
export function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

export const isValidTopicName = isValidName;
export const isValidChannelName = isValidName;

/** Whether a topic or channel is ephemeral: kept in memory only, removed when unused. */
export function isEphemeralName(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}
