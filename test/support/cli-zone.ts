/** The rule zone, with the working IPv6 address set to ::1 so a spawned CLI can probe a real fake endpoint. */
import { Zone } from './dns-fixture.js';
import { V6_GREETS, ruleZone } from './rule-zone.js';

export function cliZone(): Zone {
  const zone = ruleZone();
  for (const records of Object.values(zone.records)) {
    for (const r of records) if (r.type === 'AAAA' && r.address === V6_GREETS) r.address = '::1';
  }
  return zone;
}
