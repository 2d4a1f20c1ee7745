#!/usr/bin/env node
// Rewrites the option table in docs/configuration.md from the option definitions (run `npm run build` first).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { optionTableMarkdown } = require('../dist/config/option-table.js');

const readme = join(__dirname, '..', 'docs', 'configuration.md');
const text = readFileSync(readme, 'utf8');
const updated = text.replace(/(<!-- options:start -->\n)[\s\S]*?(\n<!-- options:end -->)/, `$1${optionTableMarkdown()}$2`);
writeFileSync(readme, updated);
