import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { buildAad } from './aad.js';

/** The documented layout built part by part: every stored value was sealed under these bytes. */
function reference(parts: readonly string[]): Buffer {
  return Buffer.concat(
    ['latchkey-aad-v1', ...parts].flatMap((p) => {
      const bytes = Buffer.from(p, 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(bytes.byteLength);
      return [len, bytes];
    }),
  );
}

describe('buildAad', () => {
  test('a fixed context encodes to the same bytes as always (stored values open only with these)', () => {
    const aad = buildAad({ appId: 'app_1', table: 'managed_secrets', recordId: 'ms_1', field: 'value' });
    expect(aad.toString('hex')).toBe(
      '000f6c617463686b65792d6161642d7631' + // u16 15 | "latchkey-aad-v1"
        '00056170705f31' + // u16 5 | "app_1"
        '000f6d616e616765645f73656372657473' + // u16 15 | "managed_secrets"
        '00046d735f31' + // u16 4 | "ms_1"
        '000576616c7565', // u16 5 | "value"
    );
  });

  test('equals the part-by-part layout for any parts: multi-byte UTF-8, lone and reversed surrogates included', () => {
    // Any UTF-16 code unit, so lone high and low surrogates appear anywhere in a part.
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const part = fc.oneof(
      fc.string({ unit, minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    );
    fc.assert(
      fc.property(part, part, part, part, (appId, table, recordId, field) => {
        expect(buildAad({ appId, table, recordId, field }).equals(reference([appId, table, recordId, field]))).toBe(
          true,
        );
      }),
      { numRuns: 500 },
    );
  });

  test('keeps the length prefix unambiguous and encodes a lone surrogate as UTF-8 does (U+FFFD), and refuses empty or oversized parts', () => {
    for (const odd of ['a\ud800', '\udc00', '\udc00\ud800', 'x\ud83dy']) {
      const lone = buildAad({ appId: odd, table: 't', recordId: 'r', field: 'f' });
      expect(lone.equals(reference([odd, 't', 'r', 'f']))).toBe(true);
      expect(lone.includes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(true);
    }
    const a = buildAad({ appId: 'ab', table: 'c', recordId: 'r', field: 'f' });
    const b = buildAad({ appId: 'a', table: 'bc', recordId: 'r', field: 'f' });
    expect(a.equals(b)).toBe(false);
    expect(() => buildAad({ appId: '', table: 't', recordId: 'r', field: 'f' })).toThrow(TypeError);
    expect(() => buildAad({ appId: 'a', table: 't', recordId: 'r', field: 'é'.repeat(32_768) })).toThrow(
      'AAD part is too long',
    );
    // 65,535 bytes is the largest part the u16 prefix can describe.
    expect(buildAad({ appId: 'a', table: 't', recordId: 'r', field: 'x'.repeat(65_535) }).byteLength).toBe(
      2 + 15 + 2 + 1 + 2 + 1 + 2 + 1 + 2 + 65_535,
    );
    expect(() => buildAad({ appId: 7 as unknown as string, table: 't', recordId: 'r', field: 'f' })).toThrow(
      'AAD parts must be non-empty strings',
    );
  });
});
