import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { OPTION_NAMES, defaults, fileKey } from '../../src/config/options';
import { changedOptions } from '../../src/config/load';
import { DEFAULT_OPS_LISTEN, parseHttpListen } from '../../src/ops/http';

const path = join(__dirname, '..', '..', 'cf-snippets', 'mx4map.yml');

test('the sample mx4map.yml names every option, and its values are the defaults but for the ops listener and the log format', () => {
  const values = parseConfigText(readFileSync(path, 'utf8'), path);
  expect(Object.keys(values).sort()).toEqual(OPTION_NAMES.map(fileKey).sort());
  const config = resolveConfig({ flags: {}, env: {}, file: { path, values } });
  expect(changedOptions(defaults(), config).sort()).toEqual(['http', 'logFormat']);
  expect(config.logFormat).toBe('text');
});

test("the sample's ops listener is where export and replay look by default", () => {
  const values = parseConfigText(readFileSync(path, 'utf8'), path);
  const config = resolveConfig({ flags: {}, env: {}, file: { path, values } });
  expect(config.http).toEqual(parseHttpListen(DEFAULT_OPS_LISTEN));
});
