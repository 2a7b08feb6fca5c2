import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeEffective } from '../../runner/config/layered-values.ts';
import { layeredProblem } from '../support/layered-problem.ts';
import { fieldsOf } from '../../runner/config/schema-flags.ts';
import { isSecretOption, withoutUrlPasswords } from '../../runner/config/shown-values.ts';
import { validateConfig } from '../../runner/config/config-file.ts';

describe('the values --help and list show', () => {
  it('hide the value of an option whose name says it holds a secret, and say where it came from', () => {
    const fields = fieldsOf(z.object({ apiKey: z.string(), smtpPassword: z.string().default('hunter2'), clientSecret: z.string().default(''), limit: z.number().default(3) }));
    const [apiKey, smtpPassword, clientSecret, limit] = fields;
    expect(describeEffective(apiKey!, 'sk_live_1', { kind: 'env', where: 'NSQWORKER_API_KEY', raw: 'sk_live_1' })).toBe(' (*** from env NSQWORKER_API_KEY)');
    expect(describeEffective(smtpPassword!, undefined, undefined)).toBe(' (default: ***)');
    // Nothing to hide in an empty value.
    expect(describeEffective(clientSecret!, undefined, undefined)).toBe(' (default: "")');
    expect(describeEffective(limit!, 4, { kind: 'flag', where: '--limit', raw: '4' })).toBe(' (4 from flag --limit; default: 3)');
  });

  it('take names of secrets in camelCase, kebab-case or snake_case, and not names about a secret or merely containing its word', () => {
    for (const key of ['authSecret', 'apiKey', 'API_KEY', 'dbPassword', 'passwd', 'accessToken', 'private-key', 'awsCredentials', 'keyPassphrase', 'signingKey', 'webhookHmac', 'token']) expect(isSecretOption(key), key).toBe(true);
    for (const key of ['tlsKey', 'dedupKey', 'author', 'keyspace', 'maxTokens', 'tokenizer', 'credentialsFile', 'secretName', 'apiKeyHeader', 'passwordMinLength']) expect(isSecretOption(key), key).toBe(false);
  });

  it("mask a URL's password in any value, keeping the rest", () => {
    expect(withoutUrlPasswords('"postgres://app:pw@db:5432/app"')).toBe('"postgres://app:***@db:5432/app"');
    expect(withoutUrlPasswords('redis://:secret@cache:6379,amqp://user:p%40ss@mq/vhost')).toBe('redis://:***@cache:6379,amqp://user:***@mq/vhost');
    expect(withoutUrlPasswords('"http://127.0.0.1:4161"')).toBe('"http://127.0.0.1:4161"');
    expect(withoutUrlPasswords('"user@example.com"')).toBe('"user@example.com"');
    // A generated password may hold an unencoded / or @.
    expect(withoutUrlPasswords('redis://:ab/cd@cache:6379')).toBe('redis://:***@cache:6379');
    expect(withoutUrlPasswords('"postgres://app:p@ss/word@db/app"')).toBe('"postgres://app:***@db/app"');
    // A comma or a quote (escaped in a shown string) in it too; a comma before the next URL of a list ends it.
    expect(withoutUrlPasswords('"postgres://app:pa,ss@db/app"')).toBe('"postgres://app:***@db/app"');
    expect(withoutUrlPasswords('"postgres://app:pa\\"ss@db/app"')).toBe('"postgres://app:***@db/app"');
    expect(withoutUrlPasswords('redis://:a,b@cache:6379, amqp://user:c@d@mq/vhost')).toBe('redis://:***@cache:6379, amqp://user:***@mq/vhost');
    expect(withoutUrlPasswords('["http://u:p@h1","http://v:q@h2"]')).toBe('["http://u:***@h1","http://v:***@h2"]');
    // A space in a quoted value's password is the password's; outside quotes it ends the URL.
    expect(withoutUrlPasswords('"postgres://app:x\\"y z@db/app" from env')).toBe('"postgres://app:***@db/app" from env');
    expect(withoutUrlPasswords('see http://u:p@h and mail x@y')).toBe('see http://u:***@h and mail x@y');
  });

  it("keep a secret out of the error for its bad value, as from the help", () => {
    const schema = z.object({ apiKey: z.string().min(20), retries: z.number().default(1) });
    const problem = (env: Record<string, string>): string => layeredProblem(schema, { env });
    const refused = problem({ NSQWORKER_API_KEY: 'sk_short_LEAK' });
    // Hidden, and still said why: not "expected a string" of a string.
    expect(refused).toContain('NSQWORKER_API_KEY ***: expected a string of at least 20 characters');
    expect(refused).not.toContain('LEAK');
    expect(problem({ NSQWORKER_API_KEY: 'sk_long_enough_0123456789', NSQWORKER_RETRIES: 'x' })).toContain('NSQWORKER_RETRIES "x"');
  });

  it("keep a URL's password out of the error for a URL the schema refuses, however long the value", () => {
    const schema = z.object({ dbUrl: z.string().url() });
    const problem = (value: string): string => layeredProblem(schema, { env: { NSQWORKER_DB_URL: value } });
    expect(problem('http://u:hunter2@')).toBe('NSQWORKER_DB_URL "http://u:***@": Invalid URL');
    // Longer than an error quotes: the password is hidden before the value is cut.
    const long = problem(`postgres://app:${'x'.repeat(60)}LEAK@`);
    expect(long).not.toContain('LEAK');
    expect(long).not.toContain('xxxx');
  });

  it("keep secrets out of the config file's errors as out of a flag's", async () => {
    const refused = async (config: unknown): Promise<string> => validateConfig(config, 'nsqworker.config.ts').then(() => 'no error', (error: Error) => error.message);
    const secret = await refused({ authSecret: 1234567 });
    expect(secret).toContain('authSecret ***: expected a string');
    expect(secret).not.toContain('1234567');
    expect(await refused({ lookupdHttpAddresses: 'http://admin:lookpw@lookupd:4161' })).toContain('"http://admin:***@lookupd:4161"');
    const worker = await refused({ workers: { 'o/c': 'postgres://u:dbpw@h/db' } });
    expect(worker).toContain('"postgres://u:***@h/db"');
    expect(worker).not.toContain('dbpw');
  });

  it('hide the secret keys of an object option in errors, --help and list', () => {
    const schema = z.object({ db: z.object({ host: z.string(), password: z.string(), port: z.number() }) });
    const refused = layeredProblem(schema, { env: { NSQWORKER_DB: '{"host":"h","password":"hunter2secret","port":"x"}' } });
    expect(refused).toContain('\\"password\\":\\"***\\"');
    expect(refused).not.toContain('hunter2secret');
    const [field] = fieldsOf(schema);
    const shown = describeEffective(field!, { host: 'h', password: 'hunter2secret', port: 5 }, { kind: 'env', where: 'NSQWORKER_DB', raw: '' });
    expect(shown).toContain('"password":"***"');
    expect(shown).not.toContain('hunter2secret');
  });

  it('say what length a string option takes', () => {
    const schema = z.object({ code: z.string().length(3), name: z.string().min(1).max(64), tag: z.string().max(8), note: z.string().min(1) });
    const problem = (env: Record<string, string>): string => layeredProblem(schema, { env: { NSQWORKER_CODE: 'abc', NSQWORKER_NAME: 'n', NSQWORKER_TAG: 't', NSQWORKER_NOTE: 'x', ...env } });
    expect(problem({ NSQWORKER_CODE: 'abcd' })).toContain('NSQWORKER_CODE "abcd": expected a string of exactly 3 characters');
    expect(problem({ NSQWORKER_NAME: 'n'.repeat(65) })).toContain(': expected a string of 1 to 64 characters');
    expect(problem({ NSQWORKER_TAG: 'much too long' })).toContain('NSQWORKER_TAG "much too long": expected a string of at most 8 characters');
    expect(problem({ NSQWORKER_NOTE: '' })).toContain('(expected a string that is not empty)');
  });
});
