/**
 * contrib/prometheus: the recording and alerting rules, checked and unit-tested by Prometheus's own promtool
 * (each alert fires on the series of its fault, with its labels and annotations, and stays quiet in normal
 * operation: mx4map-rules.test.yml), and every metric they name is one mx4map exports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeRequiring } from '../support/requires';

const DIR = join(__dirname, '..', '..', 'contrib', 'prometheus');
const missing = spawnSync('promtool', ['--version']).status === 0 ? undefined : 'promtool is not installed (Debian: apt-get install prometheus)';

describeRequiring(missing, 'the Prometheus rules suite needs promtool')('contrib/prometheus rules', () => {
  test('promtool check rules: valid', () => {
    const r = spawnSync('promtool', ['check', 'rules', join(DIR, 'mx4map-rules.yml')], { encoding: 'utf8' });
    expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('promtool test rules: every alert fires on its fault and stays quiet in normal operation', () => {
    const r = spawnSync('promtool', ['test', 'rules', 'mx4map-rules.test.yml'], { cwd: DIR, encoding: 'utf8' });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });
});

test('every alert is tested firing and quiet, and every metric the rules name is one mx4map exports', () => {
  const rules = parse(readFileSync(join(DIR, 'mx4map-rules.yml'), 'utf8')) as { groups: { rules: { alert?: string; expr: string }[] }[] };
  const tests = parse(readFileSync(join(DIR, 'mx4map-rules.test.yml'), 'utf8')) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0), quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
      alert,
      fires: true,
      quiet: true,
    });
  }
  const source = ['metrics.ts', 'answer-counts.ts', 'dns-counts.ts'].map((f) => readFileSync(join(__dirname, '..', '..', 'src', 'ops', f), 'utf8')).join('\n');
  const named = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/\b(mx4map_[a-z0-9_]+)/g)].map((m) => m[1]))));
  for (const metric of named) expect({ metric, exported: source.includes(`'${metric}'`) }).toEqual({ metric, exported: true });
});
