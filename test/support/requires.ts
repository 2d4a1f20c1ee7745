/**
 * Suites that need a real MTA (or Redis, systemd, namespaces) run where it is installed and say loudly, naming
 * the installer, where not. With MX4MAP_TEST_REQUIRE_ALL=1 (CI sets it) a missing prerequisite fails the
 * suite instead: a run that silently tested less must not pass.
 */
export const REQUIRE_ALL = process.env.MX4MAP_TEST_REQUIRE_ALL === '1';

export function describeRequiring(missing: string | undefined, what: string): (name: string, body: () => void) => void {
  if (!missing) return describe;
  const why = `${what}: ${missing}; scripts/install-mtas.sh, as root, installs what they need`;
  if (REQUIRE_ALL)
    return (name) =>
      describe(name, () => {
        test('has what it needs (MX4MAP_TEST_REQUIRE_ALL=1)', () => {
          throw new Error(why);
        });
      });
  // The reason goes into the title: the run's closing "Skipped:" list (skipped-reporter.js) shows it.
  return (name, body) => describe.skip(`${name} [skipped, ${why}]`, body);
}
