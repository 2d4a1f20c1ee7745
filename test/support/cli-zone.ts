/** The rule zone, with the working IPv6 address set to TEST_IPV6 (on lo) so a spawned CLI probes a real fake endpoint. */
import type { Zone } from './dns-fixture.js';
import { V6_GREETS, ruleZone } from './rule-zone.js';
import { TEST_IPV6, ensureTestAddresses } from './test-addresses.js';

export function cliZone(): Zone {
  ensureTestAddresses();
  const zone = ruleZone();
  for (const records of Object.values(zone.records)) {
    for (const r of records) if (r.type === 'AAAA' && r.address === V6_GREETS) r.address = TEST_IPV6;
  }
  return zone;
}
