// Loads catalog/<id>.yaml files into a frozen, validated catalog. Reading is synchronous: it
// runs once at boot (or in a CI check), and a broken catalog must stop the start.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { findTemplateProblems } from './validate.js';
import type { Catalog, CatalogProblem, ProviderTemplate } from './types.js';

// Resolved from this file, so it works from src/ and from a build in dist/.
const DEFAULT_CATALOG_DIR = new URL('../catalog/', import.meta.url);

/** Thrown by {@link loadCatalog} when the catalog cannot be used; lists every problem found. */
export class CatalogError extends Error {
  /** Every problem, in file order. */
  readonly problems: readonly CatalogProblem[];

  constructor(problems: readonly CatalogProblem[]) {
    const lines = problems.map((p) => `  ${p.file}${p.pointer === '' ? '' : ` ${p.pointer}`}: ${p.message}`);
    super(
      `invalid provider catalog (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.name = 'CatalogError';
    this.problems = Object.freeze([...problems]);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseYaml(text: string, file: string, problems: CatalogProblem[]): unknown {
  // YAML 1.2 core schema: "yes"/"on" stay strings; duplicate keys and aliases are errors.
  const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      problems.push({ file, pointer: '', message: `YAML: ${error.message.split('\n')[0] ?? error.code}` });
    }
    return undefined;
  }
  try {
    return doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    problems.push({ file, pointer: '', message: `YAML: ${(error as Error).message}` });
    return undefined;
  }
}

function toPath(dir: string | URL): string {
  return typeof dir === 'string' ? dir : fileURLToPath(dir);
}

function createCatalog(templates: readonly ProviderTemplate[]): Catalog {
  const sorted = Object.freeze([...templates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  const byId = new Map(sorted.map((t) => [t.id, t]));
  return Object.freeze({
    size: sorted.length,
    get: (id: string) => byId.get(id),
    has: (id: string) => byId.has(id),
    list: () => sorted,
  });
}

/**
 * Loads and validates every `<id>.yaml` file of a catalog folder.
 *
 * Each file must hold one YAML document that passes {@link validateTemplate}, and its `id` must
 * equal its file name; ids are unique. `.yml` files are reported (so they are not silently
 * ignored); other files (README…) are skipped.
 *
 * @param dir The folder to read; defaults to this package's `catalog/` folder (found from this
 *   module's URL, so it works from `src/` and from `dist/`).
 * @returns A frozen catalog; templates are deep-frozen and listed by id.
 * @throws {CatalogError} If the folder cannot be read or any entry is invalid; `problems` lists
 *   every one as file + JSON pointer + message.
 * @example
 * const catalog = loadCatalog();
 * catalog.get('stripe')?.allowed_hosts // → ['api.stripe.com', 'files.stripe.com']
 */
export function loadCatalog(dir: string | URL = DEFAULT_CATALOG_DIR): Catalog {
  const folder = toPath(dir);
  let names: string[];
  try {
    names = readdirSync(folder).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new CatalogError([{ file: folder, pointer: '', message: `cannot read the catalog folder (${code})` }]);
  }

  const problems: CatalogProblem[] = [];
  const templates: ProviderTemplate[] = [];
  const fileById = new Map<string, string>();

  for (const file of names) {
    if (file.startsWith('.')) continue;
    if (file.endsWith('.yml')) {
      problems.push({ file, pointer: '', message: 'catalog files use the .yaml extension' });
      continue;
    }
    if (!file.endsWith('.yaml')) continue;

    let text: string;
    try {
      text = readFileSync(join(folder, file), 'utf8');
    } catch (error) {
      problems.push({
        file,
        pointer: '',
        message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`,
      });
      continue;
    }
    const data = parseYaml(text, file, problems);
    if (data === undefined && problems.some((p) => p.file === file)) continue;

    const found = findTemplateProblems(data);
    for (const p of found) problems.push({ file, ...p });

    const id = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
    if (typeof id === 'string') {
      const expected = basename(file, '.yaml');
      if (id !== expected)
        problems.push({ file, pointer: '/id', message: `"${id}" must equal the file name "${expected}"` });
      const other = fileById.get(id);
      if (other !== undefined)
        problems.push({ file, pointer: '/id', message: `duplicate id "${id}", also in ${other}` });
      else fileById.set(id, file);
    }
    if (found.length === 0) templates.push(deepFreeze(data as ProviderTemplate));
  }

  if (problems.length > 0) throw new CatalogError(problems);
  return createCatalog(templates);
}
