/**
 * A tiny view layer: HTML built as escaped strings (fast for 1,000-row tables, and no framework to
 * ship), and a few helpers for the elements a view keeps across refreshes.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup that is already safe; anything else interpolated into `html` is escaped. */
export class Safe {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = string | number | boolean | null | undefined | Safe | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Safe) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** `html\`<td>${name}</td>\`` with every value escaped unless it is itself `html` output. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Safe {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + strings[i + 1]!;
  return new Safe(out);
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', markup?: Safe): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  if (markup !== undefined) node.innerHTML = markup.value;
  return node;
}

/** What each element was last given, kept beside the DOM rather than in a (large) attribute. */
const shown = new WeakMap<Element, string>();

/** Replaces an element's content only when it changed, so a refresh with nothing new costs nothing. */
export function setHtml(target: Element, markup: Safe): void {
  if (shown.get(target) === markup.value) return;
  target.innerHTML = markup.value;
  shown.set(target, markup.value);
}

export const hashFor = {
  overview: () => '#/',
  nodes: () => '#/nodes',
  topic: (topic: string) => `#/topic/${encodeURIComponent(topic)}`,
  channel: (topic: string, channel: string) => `#/topic/${encodeURIComponent(topic)}/${encodeURIComponent(channel)}`,
  workers: () => '#/workers',
  deadLetters: (topic: string) => `#/dead-letters/${encodeURIComponent(topic)}`,
};
