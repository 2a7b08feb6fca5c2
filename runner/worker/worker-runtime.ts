/**
 * Turns a worker module, in either form, into one runtime shape: its schemas, its task names, and
 * a way to make an instance with parsed options.
 */
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { defaultExportOf, describeExports } from './module-exports.ts';
import { isWorkerClass, isWorkerDefinition, type HookContext, type Task, type WorkerClass, type WorkerMessage } from './worker.ts';

export interface WorkerInstance {
  validate: ((message: WorkerMessage, context: HookContext) => boolean | Promise<boolean>) | undefined;
  preprocess: ((message: WorkerMessage, context: HookContext) => unknown) | undefined;
  dedupKey: ((message: WorkerMessage) => string) | undefined;
  tasks: ReadonlyMap<string, Task>;
  close(): Promise<void>;
}

export interface WorkerRuntime {
  optionsSchema: z.ZodObject | undefined;
  bodySchema: z.ZodType | undefined;
  taskNames: readonly string[];
  instantiate(options: Record<string, unknown>, log: Logger): WorkerInstance;
}

const TASK_METHOD = /^(.+?)(?:Task|_task)$/;
/** What a task may be named: it becomes part of a channel name (`<channel>.<task>`). */
export const TASK_NAME = /^[.a-zA-Z0-9_-]+$/;

/** The tasks of a worker class: methods named `xTask` or `x_task`, found along its prototype chain. */
export function taskMethodsOf(workerClass: WorkerClass): Map<string, string> {
  const tasks = new Map<string, string>();
  for (let proto = workerClass.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const method of Object.getOwnPropertyNames(proto)) {
      const match = TASK_METHOD.exec(method);
      if (match === null || typeof Object.getOwnPropertyDescriptor(proto, method)?.value !== 'function') continue;
      if (!tasks.has(match[1]!)) tasks.set(match[1]!, method);
    }
  }
  return tasks;
}

/** The methods a worker class defines (its own, not Worker's), to show when none is a task. */
function methodsOf(workerClass: WorkerClass): string[] {
  const methods = new Set<string>();
  for (let proto = workerClass.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function') methods.add(`${name}()`);
    }
  }
  return [...methods];
}

const TASK_RULE_CLASS = 'a task is a method whose name ends in Task or _task (sendTask() is the task "send")';
const TASK_RULE_DEFINITION = 'tasks are the functions under tasks: { send(message, context) { … } }';

function checkTaskNames(names: readonly string[], path: string, found?: string): void {
  if (names.length === 0) {
    throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: the worker has no tasks: ${found ?? TASK_RULE_DEFINITION}`);
  }
  for (const name of names) {
    if (!TASK_NAME.test(name)) {
      throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: task name ${JSON.stringify(name)} must match ^[.a-zA-Z0-9_-]+$ (it names a channel)`);
    }
  }
}

/**
 * A worker's `options` and `body` are zod 4 schemas (the runner reads `options` to make flags, and
 * parses both with zod 4's API); `options` an object schema. A zod 3 schema (`_def` but no `_zod`)
 * would otherwise fail deep inside with "Cannot read properties of undefined". Throws
 * E_WORKER_INVALID naming the fix.
 */
function checkSchemas(options: unknown, body: unknown, path: string): void {
  for (const [key, schema] of [['options', options], ['body', body]] as const) {
    if (schema === undefined) continue;
    const zod = (schema as { _zod?: { def?: { type?: unknown } } } | null)?._zod;
    if (zod === undefined) {
      const zod3 = typeof schema === 'object' && schema !== null && '_def' in schema;
      if (zod3) {
        throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: the worker's ${key} is a zod 3 schema: nsqworker takes zod 4 (import { z } from 'zod' with zod 4 installed: npm install zod@^4; or from 'zod/v4' with zod 3.25)`);
      }
      // Most often the values themselves (`options: { feePercent: 2 }`): what the schema is made of.
      throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: the worker's ${key} is not a zod schema: give one made with zod 4's z (${key === 'options' ? 'options: z.object({ feePercent: z.number().default(2) })' : 'body: z.object({ ... })'})`);
    }
    if (key === 'options' && zod.def?.type !== 'object') {
      throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: the worker's options must be z.object({ ... }), not a zod ${String(zod.def?.type)} schema`);
    }
  }
}

function fromClass(workerClass: WorkerClass, path: string): WorkerRuntime {
  const methods = taskMethodsOf(workerClass);
  const taskNames = [...methods.keys()].sort();
  const own = methodsOf(workerClass);
  checkTaskNames(taskNames, path, `${TASK_RULE_CLASS}; methods found: ${own.length === 0 ? 'none' : own.join(', ')}`);
  checkSchemas(workerClass.options, workerClass.body, path);
  return {
    optionsSchema: workerClass.options,
    bodySchema: workerClass.body,
    taskNames,
    instantiate(options, log) {
      const instance = new (workerClass as unknown as new () => Record<string, unknown>)();
      instance.options = options;
      instance.log = log;
      const bound = <F>(name: string): F | undefined => {
        const fn = instance[name];
        return typeof fn === 'function' ? (fn.bind(instance) as F) : undefined;
      };
      const tasks = new Map<string, Task>();
      for (const [task, method] of methods) tasks.set(task, bound<Task>(method)!);
      return {
        validate: bound('validate'),
        preprocess: bound('preprocess'),
        dedupKey: bound('dedupKey'),
        tasks,
        close: async () => {
          await bound<() => unknown>('close')?.();
        },
      };
    },
  };
}

function fromDefinition(definition: Parameters<typeof isWorkerDefinition>[0] & object, path: string): WorkerRuntime {
  const def = definition as {
    options?: z.ZodObject;
    body?: z.ZodType;
    validate?: WorkerInstance['validate'];
    preprocess?: WorkerInstance['preprocess'];
    dedupKey?: WorkerInstance['dedupKey'];
    tasks: Record<string, Task>;
    close?: () => unknown;
  };
  const taskNames = Object.keys(def.tasks ?? {}).sort();
  const keys = Object.keys(def).filter((key) => key !== 'tasks');
  checkTaskNames(taskNames, path, `${TASK_RULE_DEFINITION}; ${def.tasks === undefined ? 'no tasks key' : 'tasks is empty'}, keys found: ${keys.join(', ') || 'none'}`);
  checkSchemas(def.options, def.body, path);
  return {
    optionsSchema: def.options,
    bodySchema: def.body,
    taskNames,
    instantiate() {
      return {
        validate: def.validate?.bind(def),
        preprocess: def.preprocess?.bind(def),
        dedupKey: def.dedupKey?.bind(def),
        tasks: new Map(taskNames.map((name) => [name, def.tasks[name]!.bind(def)])),
        close: async () => {
          await def.close?.call(def);
        },
      };
    },
  };
}

/** The runtime form of a loaded worker module's default export. */
export function workerRuntimeOf(moduleExports: Record<string, unknown>, path: string): WorkerRuntime {
  const candidate = defaultExportOf(moduleExports);
  if (isWorkerClass(candidate)) return fromClass(candidate, path);
  if (isWorkerDefinition(candidate)) return fromDefinition(candidate, path);
  // Loaded while a save had emptied it and not written it yet, or emptied for good: not a code mistake.
  if (isEmptyFile(path)) {
    throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${path}: the file is empty (saved half-way?): a worker file exports its worker, export default defineWorker(...)`);
  }
  // A worker's definition written without defineWorker: what to write is known.
  const unwrapped = typeof candidate === 'object' && candidate !== null && 'tasks' in candidate ? ' (a definition not passed through defineWorker: write export default defineWorker({ ... }))' : '';
  throw new RunnerError(
    RunnerErrorCode.WorkerInvalid,
    `${path}: expected the default export (export default, or module.exports) to be a class extending Worker ` +
      `or the result of defineWorker(); found ${describeExports(moduleExports)}${unwrapped}`,
  );
}

function isEmptyFile(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch {
    return false;
  }
}
