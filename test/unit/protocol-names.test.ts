import { describe, expect, it } from 'vitest';
import { isEphemeralName, isValidChannelName, isValidName, isValidTopicName } from '../../protocol/names.ts';

const ALLOWED = new Set('.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');

describe('topic and channel names', () => {
  it('allow exactly the characters of ^[.a-zA-Z0-9_-]+$', () => {
    for (let code = 0; code < 256; code++) {
      const char = String.fromCharCode(code);
      expect(isValidName(char), `0x${code.toString(16)}`).toBe(ALLOWED.has(char));
      expect(isValidName(`a${char}b`), `0x${code.toString(16)} inside`).toBe(ALLOWED.has(char));
    }
    for (const name of ['é', 'ü', 'a\u200bb', '日本', '😀']) expect(isValidName(name), name).toBe(false);
  });

  it('are 1..64 bytes', () => {
    expect(isValidName('')).toBe(false);
    expect(isValidName('a')).toBe(true);
    expect(isValidName('a'.repeat(64))).toBe(true);
    expect(isValidName('a'.repeat(65))).toBe(false);
  });

  it('count the #ephemeral suffix in the 64', () => {
    expect('#ephemeral').toHaveLength(10);
    expect(isValidName(`${'a'.repeat(54)}#ephemeral`)).toBe(true);
    expect(isValidName(`${'a'.repeat(55)}#ephemeral`)).toBe(false);
  });

  it('allow #ephemeral only once, at the end, in lower case, after at least one character', () => {
    expect(isValidName('a#ephemeral')).toBe(true);
    expect(isValidName('.-_#ephemeral')).toBe(true);
    expect(isValidName('#ephemeral')).toBe(false);
    expect(isValidName('a#ephemeral#ephemeral')).toBe(false);
    expect(isValidName('a#ephemeralx')).toBe(false);
    expect(isValidName('a#Ephemeral')).toBe(false);
    expect(isValidName('a#ephemera')).toBe(false);
    expect(isValidName('a#')).toBe(false);
    expect(isValidName('a#b')).toBe(false);
  });

  it('reject a trailing newline or other white space (no multi-line anchors)', () => {
    for (const name of ['abc\n', '\nabc', 'a#ephemeral\n', 'ab c', ' abc', 'abc ', 'abc\r', 'a\tb']) {
      expect(isValidName(name), JSON.stringify(name)).toBe(false);
    }
  });

  it('follow the same rules for topics and channels', () => {
    for (const name of ['t', 'a.b', 'x#ephemeral', '', 'a b', 'a'.repeat(65)]) {
      expect(isValidTopicName(name)).toBe(isValidName(name));
      expect(isValidChannelName(name)).toBe(isValidName(name));
    }
  });
});

describe('isEphemeralName', () => {
  it('is true for a name ending in #ephemeral, as nsqd checks the suffix', () => {
    expect(isEphemeralName('t#ephemeral')).toBe(true);
    expect(isEphemeralName('t')).toBe(false);
    expect(isEphemeralName('t#ephemeral2')).toBe(false);
    expect(isEphemeralName('t#Ephemeral')).toBe(false);
    expect(isEphemeralName('ephemeral')).toBe(false);
    expect(isEphemeralName('t-ephemeral')).toBe(false);
  });
});
