/**
 * The broker's command sequencer (broker/nsqd/command-sequencer.ts): commands read while one waits
 * run after it, in order, as they were read, even when the parser hands the same FIN object over
 * again (its reuseFinCommand) and a body's chunk is reused.
 */
import { describe, expect, it } from 'vitest';
import { CommandSequencer, type SequencedConnection } from '../../broker/nsqd/command-sequencer.ts';
import { CommandParser, type Command } from '../../protocol/command-parser.ts';
import { keyText } from '../../protocol/message-id-hex.ts';

class RecordingConnection implements SequencedConnection {
  readonly executed: string[] = [];
  paused = false;
  release: () => void = () => {};
  execute(command: Command): Promise<void> | void {
    // A FIN of hex digits comes with its id as halves (command-parser.ts): written out as its text.
    const id = command.finId === undefined ? [] : [keyText(command.finId)];
    this.executed.push([...command.params, ...id, command.body?.toString() ?? ''].join(' ').trim());
    // AUTH waits, as for an auth server's answer.
    if (command.name === 'AUTH') return new Promise((resolve) => (this.release = resolve));
  }
  answerError(): boolean {
    return true;
  }
  pauseInput(): void {
    this.paused = true;
  }
  resumeInput(): void {
    this.paused = false;
  }
  isClosed(): boolean {
    return false;
  }
  isUpgrading(): boolean {
    return false;
  }
}

describe('CommandSequencer', () => {
  it('runs the commands read while one waits after it, each as it was read', async () => {
    const connection = new RecordingConnection();
    const sequencer = new CommandSequencer(connection);
    const parser = new CommandParser({ bodyLimits: new Map([['AUTH', 100], ['PUB', 100]]), reuseFinCommand: true }, (command) => sequencer.accept(command));
    const chunk = Buffer.from('AUTH\n\0\0\0\x06secretFIN 0000000000000001\nFIN 0000000000000002\nPUB t\n\0\0\0\x05hello', 'latin1');
    parser.push(chunk);
    chunk.fill(0); // reused by the reader
    expect({ executed: connection.executed, paused: connection.paused }).toEqual({ executed: ['AUTH secret'], paused: true });
    connection.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect({ executed: connection.executed, paused: connection.paused }).toEqual({
      executed: ['AUTH secret', 'FIN 0000000000000001', 'FIN 0000000000000002', 'PUB t hello'],
      paused: false,
    });
  });
});
