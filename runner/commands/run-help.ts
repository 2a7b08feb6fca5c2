/**
 * `nsqworker --topic T --channel C --help`: the runner's flags, then the worker's own options, each
 * with the value in effect and where it came from (default, config file, environment, flag).
 */
import { describeEffective, type LayeredValues } from '../config/layered-values.ts';
import type { FieldSpec } from '../config/schema-flags.ts';

function typeLabel(field: FieldSpec): string {
  if (field.kind === 'enum') return field.enumValues.join('|');
  // A list's element kind: `--ids <number, repeatable>`; objects are JSON, an array or one per flag.
  if (field.kind === 'list') return `${field.elementKind === 'string' || field.elementKind === 'number-or-word' || field.elementKind === undefined ? 'value' : field.elementKind}, repeatable`;
  return field.kind;
}

/**
 * A field's flag as `--help` and `list` show it: `--currency <EUR|USD>`, `--retries <number>`; a
 * boolean bare, as it takes no value (a bare flag is true; --no-<flag> or --<flag>=false turns it
 * off), as nsqd's do.
 */
export function flagLabel(field: FieldSpec): string {
  return field.kind === 'boolean' ? `--${field.flag}` : `--${field.flag} <${typeLabel(field)}>`;
}

/** Each field as [flag and value, description with the value in effect and its variable]. */
function rows(fields: readonly FieldSpec[], layered: LayeredValues | undefined): Array<[string, string]> {
  return fields.map((field) => {
    const flag = flagLabel(field);
    const effective = describeEffective(field, layered?.values[field.key], layered?.origins.get(field.key));
    // An option without a description (or a default) starts at the column the others' descriptions do.
    return [flag, [`${field.description}${effective}`.trim(), `[${field.env}]`].filter((part) => part !== '').join('  ')];
  });
}

/** Two columns, the second aligned two spaces past the widest first. */
function table(entries: ReadonlyArray<[string, string]>): string[] {
  const width = Math.max(...entries.map(([left]) => left.length)) + 2;
  return entries.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
}

export interface HelpWorker {
  name: string;
  fields: readonly FieldSpec[];
  tasks: readonly string[];
  layered?: LayeredValues;
}

export function formatRunHelp(runnerFields: readonly FieldSpec[], worker: HelpWorker | undefined, runnerLayered?: LayeredValues): string {
  const lines = [
    'Usage: nsqworker --topic <topic> --channel <channel> [options]',
    '',
    'Runs workers/<topic>/<topic>_<channel>_worker.ts on the embedded broker, or on remote nsqd/lookupd.',
    '',
    'Runner options:',
    ...table([...rows(runnerFields, runnerLayered), ['--config <file>', 'config file (default: nsqworker.config.ts)  [NSQWORKER_CONFIG]']]),
    '  The log is pretty on a terminal, JSON lines otherwise; NSQWORKER_LOG_FORMAT=json|pretty chooses.',
  ];
  if (worker === undefined) lines.push('', "A worker's own options are listed with --topic and --channel naming it (nsqworker list shows them all).");
  if (worker !== undefined) {
    lines.push('', `Worker ${worker.name}: tasks ${worker.tasks.join(', ')}`);
    if (worker.fields.length > 0) lines.push('', `Options of worker ${worker.name}:`, ...table(rows(worker.fields, worker.layered)));
    else lines.push('(this worker declares no options)');
  }
  lines.push('', 'Other commands: dev, list, admin, broker, lookupd, pub, tail, stats (nsqworker help <command>)', '');
  return lines.join('\n');
}
