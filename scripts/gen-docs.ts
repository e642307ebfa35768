// Regenerates docs/configuration.md and docs/errors.md from their sources.
import fs from 'node:fs';
import { renderConfigurationDoc, renderErrorsDoc } from '../packages/server/src/docs.js';

fs.writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
fs.writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('wrote docs/configuration.md and docs/errors.md');
