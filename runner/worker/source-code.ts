/**
 * What a user's source file says as code, as far as the runner reads it without a parser: its
 * import statements (nsqworker-imports.ts), whether a config file exports anything (config-file.ts).
 */

/**
 * `source` with what is not code blanked, lines kept: comments, and the text of strings and template
 * literals (a `${…}` in a template is code); and each string literal's text by its opening quote's
 * index. Enough to find import statements: a regular expression literal is read as code.
 */
export function scanCode(source: string): { code: string; strings: Map<number, string> } {
  const code = source.split('');
  const strings = new Map<number, string>();
  const blank = (from: number, to: number): void => {
    for (let i = from; i < to; i++) if (code[i] !== '\n') code[i] = ' ';
  };
  const templates: number[] = []; // for each open template's `${`, the brace depth it began at
  let depth = 0;
  let i = 0;
  const template = (start: number): void => {
    // From `start` (inside a template's text) to its closing backtick, or to a `${`, which is code.
    let j = start;
    while (j < source.length && source[j] !== '`' && !(source[j] === '$' && source[j + 1] === '{')) j += source[j] === '\\' ? 2 : 1;
    blank(start, Math.min(j, source.length));
    if (source[j] === '$') templates.push(depth++);
    i = j + (source[j] === '$' ? 2 : 1);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      blank(i, end === -1 ? source.length : end);
      i = end === -1 ? source.length : end;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      blank(i, end === -1 ? source.length : end + 2);
      i = end === -1 ? source.length : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      strings.set(i, source.slice(i + 1, j));
      blank(i + 1, j);
      i = j + 1;
    } else if (c === '`') {
      template(i + 1);
    } else if (c === '}' && templates.length > 0 && templates.at(-1) === depth - 1) {
      templates.pop();
      depth--;
      template(i + 1);
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
  }
  return { code: code.join(''), strings };
}
