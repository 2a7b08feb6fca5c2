/** The syntax of `--health-address`: checked with the settings, used by the health server. */

/** Splits `host:port` or `[v6]:port`; an empty host means 127.0.0.1, never every interface by accident. */
export function parseHealthAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port > 65535) throw new Error(`expected host:port, got ${JSON.stringify(address)}`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}
