/** `nsqworker --topic T --channel C --help`: the runner's flags, then the worker's own options. */
import { formatDurationMs } from '../../protocol/duration.ts';
import type { FieldSpec } from '../config/schema-flags.ts';

function describeDefault(field: FieldSpec): string {
  if (field.defaultValue === undefined) return field.required ? ' (required)' : '';
  const value = field.defaultValue;
  if (Array.isArray(value) && value.length === 0) return '';
  if (field.kind === 'duration' && typeof value === 'number') return ` (default: ${formatDurationMs(value)})`;
  return ` (default: ${typeof value === 'string' ? JSON.stringify(value) : String(value)})`;
}

function typeLabel(field: FieldSpec): string {
  if (field.kind === 'enum') return field.enumValues.join('|');
  if (field.kind === 'list') return 'value, repeatable';
  return field.kind;
}

function rows(fields: readonly FieldSpec[]): string[] {
  const left = fields.map((field) => `  --${field.flag} <${typeLabel(field)}>`);
  const width = Math.max(...left.map((text) => text.length)) + 2;
  return fields.map((field, i) => `${left[i]!.padEnd(width)}${field.description}${describeDefault(field)}  [${field.env}]`);
}

export function formatRunHelp(runnerFields: readonly FieldSpec[], worker: { name: string; fields: readonly FieldSpec[]; tasks: readonly string[] } | undefined): string {
  const lines = [
    'Usage: nsqworker --topic <topic> --channel <channel> [options]',
    '',
    'Runs workers/<topic>/<topic>_<channel>_worker.ts on the embedded broker, or on remote nsqd/lookupd.',
    '',
    'Runner options:',
    ...rows(runnerFields),
    `  --config <file>  config file (default: nsqworker.config.ts)  [NSQWORKER_CONFIG]`,
  ];
  if (worker !== undefined) {
    lines.push('', `Worker ${worker.name}: tasks ${worker.tasks.join(', ')}`);
    if (worker.fields.length > 0) lines.push('', `Options of worker ${worker.name}:`, ...rows(worker.fields));
    else lines.push('(this worker declares no options)');
  }
  lines.push('', 'Other commands: broker, lookupd, list, pub, tail, stats (nsqworker <command> --help)', '');
  return lines.join('\n');
}
