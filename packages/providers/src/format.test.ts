import { describe, expect, it } from 'vitest';
import { fillFormat, parseFormat } from './format.js';

describe('parseFormat', () => {
  it('lists placeholders in order, repeats included', () => {
    expect(parseFormat('{token}')).toEqual({ ok: true, placeholders: ['token'] });
    expect(parseFormat('token {token}')).toEqual({ ok: true, placeholders: ['token'] });
    expect(parseFormat('{user}:{key}:{user}')).toEqual({ ok: true, placeholders: ['user', 'key', 'user'] });
    expect(parseFormat('static')).toEqual({ ok: true, placeholders: [] });
  });

  it.each([
    [
      '{Token}',
      '"{Token}" is not a valid placeholder: use {token} or {field_name} (lowercase letters, digits, underscores)',
    ],
    ['{}', '"{}" is not a valid placeholder: use {token} or {field_name} (lowercase letters, digits, underscores)'],
    ['{token', 'has an unmatched "{" or "}"'],
    ['token}', 'has an unmatched "{" or "}"'],
    ['{{token}}', 'has an unmatched "{" or "}"'],
    ['Bearer {token}\r\nX-Evil: 1', 'must not contain control characters'],
  ])('rejects %j', (format, error) => {
    expect(parseFormat(format)).toEqual({ ok: false, error });
  });
});

describe('fillFormat', () => {
  it('replaces every placeholder', () => {
    expect(fillFormat('Bearer {token}', { token: 'abc' })).toBe('Bearer abc');
    expect(fillFormat('{id}:{key}', { id: 'a', key: 'b' })).toBe('a:b');
  });

  it('does not interpret replacement patterns in values', () => {
    expect(fillFormat('{token}', { token: "$&$'$`" })).toBe("$&$'$`");
  });

  it('throws TypeError without leaking values', () => {
    expect(() => fillFormat('{token}', {})).toThrow('no value for placeholder {token}');
    expect(() => fillFormat('{token', { token: 'x' })).toThrow(TypeError);
    let message = '';
    try {
      fillFormat('{token}', { token: 'secret-value\r\nX: y' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the value for {token} contains a control character');
  });

  it('ignores inherited properties', () => {
    expect(() => fillFormat('{constructor}', {})).toThrow('no value for placeholder {constructor}');
  });
});
