/** Suites that need a real MTA run where it is installed and say loudly, naming the installer, where not. */
export function describeRequiring(missing: string | undefined, what: string): (name: string, body: () => void) => void {
  if (!missing) return describe;
  // The reason goes into the title: the run's closing "Skipped:" list (skipped-reporter.js) shows it.
  return (name, body) => describe.skip(`${name} [skipped, ${what}: ${missing}; scripts/install-mtas.sh, as root, installs what they need]`, body);
}
