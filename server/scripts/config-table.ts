// Writes the configuration table into README.md from the config schema: `npm run docs:config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { buildConfigTable, README_PATH, replaceConfigTable } from '../src/config/config-table';

const readme = readFileSync(README_PATH, 'utf8');
const updated = replaceConfigTable(readme, buildConfigTable());
if (updated === readme) console.log('README.md: the configuration table is up to date');
else {
  writeFileSync(README_PATH, updated);
  console.log('README.md: configuration table written');
}
