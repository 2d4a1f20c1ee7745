#!/usr/bin/env node
// Rewrites the option table in docs/configuration.md from the option definitions, and the metric table in the
// README from the metrics registry (run `npm run build` first).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { optionTableMarkdown } = require('../dist/config/option-table.js');

const readme = join(__dirname, '..', 'docs', 'configuration.md');
const text = readFileSync(readme, 'utf8');
const updated = text.replace(/(<!-- options:start -->\n)[\s\S]*?(\n<!-- options:end -->)/, `$1${optionTableMarkdown()}$2`);
writeFileSync(readme, updated);

const { metricTableMarkdown } = require('../dist/ops/metric-table.js');
const readmePath = join(__dirname, '..', 'README.md');
const readmeText = readFileSync(readmePath, 'utf8');
writeFileSync(readmePath, readmeText.replace(/(<!-- metrics:start -->\n)[\s\S]*?(\n<!-- metrics:end -->)/, `$1${metricTableMarkdown()}$2`));
process.exit(0);
