/**
 * The names a file imports from nsqworker, as read from its source (runner/worker/nsqworker-imports.ts):
 * import statements only, not text in comments, strings or template literals that reads like one.
 */
import { describe, expect, it } from 'vitest';
import { nsqworkerImports } from '../../runner/worker/nsqworker-imports.ts';

const names = (source: string): string[] => nsqworkerImports(source).map((entry) => `${entry.line}:${entry.typeOnly ? 'type ' : ''}${entry.exported}${entry.local === entry.exported ? '' : ` as ${entry.local}`}`);

describe('nsqworkerImports', () => {
  it('reads named imports, type-only ones, renamed ones, after a default import, over several lines, and re-exports', () => {
    const source = [
      "import { defineWorker, type TaskContext, GiveUpMessage as Stop } from 'nsqworker';",
      "import type { WorkerMessage } from \"nsqworker\";",
      "import nsq, { Worker } from 'nsqworker';",
      'import {',
      '  RequeueMessage,',
      "} from 'nsqworker';",
      "import { z } from 'zod';",
      "export { GiveUpMesage, type WorkerMessage as Message } from 'nsqworker';",
      "export { helper } from './helper.ts';",
    ].join('\n');
    expect(names(source)).toEqual(['1:defineWorker', '1:type TaskContext', '1:GiveUpMessage as Stop', '2:type WorkerMessage', '3:Worker', '4:RequeueMessage', '8:GiveUpMesage', '8:type WorkerMessage as Message']);
  });

  it("reads a require's destructured names, renamed ones and ones with a default, as a plain .js or .cjs worker writes them", () => {
    const source = [
      "const { defineWorker, GiveUpMessage: Stop, RequeueMesage = null } = require('nsqworker');",
      "let {",
      "  Worker,",
      '  ...rest',
      '} = require("nsqworker");',
      "const { z } = require('zod');",
      "const { nope } = require('nsqworker-extra');",
      "// const { commented } = require('nsqworker');",
    ].join('\n');
    expect(names(source)).toEqual(['1:defineWorker', '1:GiveUpMessage as Stop', '1:RequeueMesage', '2:Worker']);
  });

  it('takes none from comments, strings or the text of template literals, and keeps the lines after them', () => {
    const source = [
      "// import { a } from 'nsqworker';",
      "/* import { b } from 'nsqworker'; */",
      "const s = \"import { c } from 'nsqworker'\";",
      'const doc = `example:',
      "import { d } from 'nsqworker'",
      '${"}"} and ${`nested ${1}`} done`;',
      "const url = 'http://example.com/'; import { e } from 'nsqworker';",
      "import { f } from 'nsqworker-extra';",
    ].join('\n');
    expect(names(source)).toEqual(['7:e']);
  });
});
