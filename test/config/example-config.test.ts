import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, resolveConfig } from '../../src/config/load';

test('the example configuration in the README is valid', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /Example `\/etc\/mx4map\/mx4map.yml`:\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const values = parseConfigText(block as string, 'README example');
  const config = resolveConfig({ flags: {}, env: {}, file: { path: 'README example', values } });
  expect(config.never).toEqual(['.internal.example', '/etc/mx4map/never.list']);
  expect(config.socketMode).toBe(0o660);
});
