/** Suites that need a real MTA run where it is installed and say loudly, naming the installer, where not. */
export function describeRequiring(missing: string | undefined, what: string): jest.Describe {
  if (missing) console.warn(`SKIPPING ${what}: ${missing}. Run scripts/install-mtas.sh as root to enable them.`);
  return missing ? describe.skip : describe;
}
