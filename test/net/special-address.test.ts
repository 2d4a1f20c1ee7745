/** Special-purpose addresses (never routes, never probed); dotted IPv4 is read without node's parsers. */
import fc from 'fast-check';
import { isSpecialAddress, isSpecialByParsers as reference } from '../../src/net/special-address';

test.each([
  ['::', true],
  ['::1', true],
  ['0:0:0:0:0:0:0:1', true],
  ['fe80::1', true],
  ['febf:ffff::1', true],
  ['fec0::1', false],
  ['ff02::1', true],
  ['::ffff:192.0.2.1', true],
  ['::ffff:c000:201', true],
  ['64:ff9b::192.0.2.1', false],
  ['2001:db8::25', false],
  ['2a00:1450:4013:c16::1a', false],
  ['fd00::1', false],
  ['::2', false],
  ['127.0.0.1', true],
  ['192.0.2.1', false],
  ['fe80::1%eth0', true],
  ['not an address', true],
  ['1:2:3:4:5:6:7:8:9', true],
])('%s is special: %s', (address, special) => {
  expect(isSpecialAddress(address)).toBe(special);
});

test('the same answer as node’s BlockList for any IPv4 or IPv6 address, and for any string of their characters', () => {
  const text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%'.split('')), maxLength: 46 });
  const near = fc.oneof(
    fc.ipV6(),
    fc.ipV4(),
    fc.ipV4Extended(),
    text,
    fc.ipV6().map((a) => a.replace(/^0+/, '')),
  );
  fc.assert(
    fc.property(near, (address) => {
      expect(isSpecialAddress(address)).toBe(reference(address));
    }),
    { numRuns: 20_000 },
  );
  // Every special prefix, at its edges.
  for (const address of [
    'fe80::',
    'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fe7f::',
    'fec0::',
    'ff00::',
    'feff::',
    '::ffff:0:0',
    '::fffe:0:0',
    '0:0:0:0:1:ffff::',
  ])
    expect(isSpecialAddress(address)).toBe(reference(address));
});
