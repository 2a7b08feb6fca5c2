/**
 * What a refused reload says: the file, line and column to fix and why, on one line; the compiler's
 * or loader's stack only at debug, or when there is no place to point at.
 */
import type { Logger } from 'pino';
import { formatLocation, type LoadFailureLocation } from '../worker/load-failure.ts';
import type { CodeWatch, Saves } from './code-watch.ts';
import { HostLoadError, type HostProcess } from './host-process.ts';
import type { ReloadEvents } from './protocol.ts';

/**
 * A value the options schema rejects is both a config value and a schema line: the file saved
 * decides. A new schema that rejects the config's value points at the schema's line, and says where
 * the value was given, which may be what to change; a new value in the config points at the config file.
 */
function blame(location: LoadFailureLocation | undefined, changed: ReadonlySet<string>): LoadFailureLocation | undefined {
  const declared = location?.declaredIn;
  if (location === undefined) return undefined;
  if (declared === undefined || changed.has(location.file) || !changed.has(declared.file)) return location;
  const reason = `${location.reason}, the value given in ${formatLocation(location)}`;
  return { ...location, file: declared.file, line: declared.line, column: undefined, reason, declaredIn: undefined };
}

/** The fields and message of the error line for `error`, a load that failed after `changed` were saved. */
function reloadFailureLine(error: unknown, changed: ReadonlySet<string>, debug: boolean): { fields: Record<string, unknown>; message: string } {
  const location = error instanceof HostLoadError ? blame(error.location, changed) : undefined;
  const where = location === undefined ? '' : `${formatLocation(location)}: ${location.reason}; `;
  const detail = location === undefined || debug ? { err: error } : {};
  return { fields: { ...detail, ...location }, message: `reload failed: ${where}the running code stays in place until the next good save` };
}

/**
 * Says that the load of `saves` failed, and why, once for this content; the files the refused code
 * imported stay watched beside those of the code `running`, where a fix may land.
 */
export function reportReloadFailure(error: unknown, saves: Saves, to: { watch: CodeWatch; running: HostProcess; log: Logger; events: ReloadEvents }): void {
  if (error instanceof HostLoadError) {
    to.watch.loadFailed(error.files);
    to.watch.update(to.running.files, error.snapshots);
  }
  const { fields, message } = reloadFailureLine(error, saves.changed, to.log.isLevelEnabled('debug'));
  to.log.error(fields, message);
  to.events.reloadFailed?.(error as Error);
  to.watch.told(saves);
}
