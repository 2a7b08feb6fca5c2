/**
 * `nsqworker --topic T --channel C --help`: the runner's flags, then the worker's own options, each
 * with the value in effect and where it came from (default, config file, environment, flag).
 */
import { describeEffective, type LayeredValues } from '../config/layered-values.ts';
import type { FieldSpec } from '../config/schema-flags.ts';

function typeLabel(field: FieldSpec): string {
  if (field.kind === 'enum') return field.enumValues.join('|');
  if (field.kind === 'list') return 'value, repeatable';
  return field.kind;
}

function rows(fields: readonly FieldSpec[], layered: LayeredValues | undefined): string[] {
  // A boolean takes no value (a bare flag is true; --no-<flag> or --<flag>=false turns it off), as nsqd's do.
  const left = fields.map((field) => (field.kind === 'boolean' ? `  --${field.flag}` : `  --${field.flag} <${typeLabel(field)}>`));
  const width = Math.max(...left.map((text) => text.length)) + 2;
  return fields.map((field, i) => {
    const effective = describeEffective(field, layered?.values[field.key], layered?.origins.get(field.key));
    return `${left[i]!.padEnd(width)}${field.description}${effective}  [${field.env}]`;
  });
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
    ...rows(runnerFields, runnerLayered),
    `  --config <file>  config file (default: nsqworker.config.ts)  [NSQWORKER_CONFIG]`,
  ];
  if (worker !== undefined) {
    lines.push('', `Worker ${worker.name}: tasks ${worker.tasks.join(', ')}`);
    if (worker.fields.length > 0) lines.push('', `Options of worker ${worker.name}:`, ...rows(worker.fields, worker.layered));
    else lines.push('(this worker declares no options)');
  }
  lines.push('', 'Other commands: dev, list, admin, broker, lookupd, pub, tail, stats (nsqworker help <command>)', '');
  return lines.join('\n');
}
