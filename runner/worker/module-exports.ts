/**
 * The shapes a loaded module can have, read the same way for ES modules and CommonJS: its default
 * export, and a description of what it exports for errors that say what was found.
 */

/** A module's exports, as `import()` gives them (a CommonJS module's `module.exports` is `default`). */
export type ModuleExports = Record<string, unknown>;

/**
 * A module's default export, whatever its module system: an ES module's `export default x`, a
 * CommonJS `module.exports = x`, or `exports.default = x` — which is what TypeScript and esbuild
 * compile `export default x` to in a CommonJS project, and what `import()` then shows as
 * `{ default: { default: x } }`.
 */
export function defaultExportOf(moduleExports: ModuleExports): unknown {
  const value = moduleExports.default;
  if (typeof value === 'object' && value !== null && 'default' in value) {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if ((value as { __esModule?: unknown }).__esModule === true || prototype === Object.prototype || prototype === null) {
      return (value as { default: unknown }).default;
    }
  }
  return value;
}

/** Whether a module has no default export: none, or a compiled ES module loaded as CommonJS without one. */
export function lacksDefaultExport(moduleExports: ModuleExports): boolean {
  // A compiled ES module loaded as CommonJS marks itself __esModule; without `default` it has none.
  const raw = moduleExports.default as { __esModule?: unknown } | undefined;
  return defaultExportOf(moduleExports) === undefined || (typeof raw === 'object' && raw !== null && raw.__esModule === true && !('default' in raw));
}

/** What a module exports, in words, for an error that says what was found: "default: an object with keys a, b; named: x". */
export function describeExports(moduleExports: ModuleExports): string {
  const value = defaultExportOf(moduleExports);
  const named = Object.keys(moduleExports).filter((key) => key !== 'default' && key !== '__esModule');
  const commonJsNamed = typeof moduleExports.default === 'object' && moduleExports.default !== null ? Object.keys(moduleExports.default).filter((key) => key !== 'default' && key !== '__esModule') : [];
  const allNamed = [...new Set([...named, ...commonJsNamed])];
  const noDefault = lacksDefaultExport(moduleExports);
  const shape = noDefault
    ? 'no default export'
    : typeof value === 'function'
      ? describeFunction(value)
      : typeof value === 'object' && value !== null
        ? Object.keys(value).length === 0 && allNamed.length === 0
          ? // What a module that exports nothing gives as CommonJS (module.exports is {}), as well as `export default {}`.
            'default: an empty object (nothing exported: is `export default` missing before defineWorker(...)?)'
          : `default: an object with keys ${Object.keys(value).join(', ') || '(none)'}`
        : `default: ${typeof value} ${JSON.stringify(value)}`;
  return allNamed.length === 0 ? shape : `${shape}; named exports: ${allNamed.join(', ')}`;
}

/**
 * A default export that is a function, in words: a class by its name, and a plain function (an
 * anonymous one is named `default` by the language) with what a worker is instead.
 */
function describeFunction(value: { name: string; toString(): string }): string {
  const named = value.name !== '' && value.name !== 'default';
  if (value.toString().startsWith('class')) return `default: a class ${named ? value.name : '(anonymous)'}`;
  if (value.name === 'defineWorker') return 'default: defineWorker itself (call it: export default defineWorker({ tasks: { ... } }))';
  const name = named ? `a function ${value.name}` : 'a function';
  return `default: ${name} (a task alone is no worker: export default defineWorker({ tasks: { name: yourFunction } }))`;
}

