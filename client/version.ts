/** The client's version, sent as `nsqworker/<version>` in IDENTIFY's user_agent. */
export const CLIENT_VERSION = '0.1.0';
