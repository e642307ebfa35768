import fs from 'node:fs';
import { expect, test } from 'vitest';
import { renderConfigurationDoc, renderErrorsDoc } from '../src/docs.js';

const read = (name: string) => fs.readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

test('docs/configuration.md matches the config schema (run `npm run docs` after changing it)', () => {
  expect(read('configuration.md')).toBe(renderConfigurationDoc());
});

test('docs/errors.md matches the error registry (run `npm run docs` after changing it)', () => {
  expect(read('errors.md')).toBe(renderErrorsDoc());
});
