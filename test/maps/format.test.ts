import { DEFAULT_POLICY, intendedReply, replyFor, replyOrders } from '../../src/maps/format';
import { capRoutes } from '../../src/engine/rule';
import type { MapDefinition } from '../../src/maps/definitions';
import type { Decision } from '../../src/engine/decision';

const sendmail: MapDefinition = { name: 'mailertable', format: 'sendmail', mailer: 'esmtp', nexthop: 'literal' };
const postfix: MapDefinition = { name: 'transport', format: 'postfix', mailer: 'smtp', nexthop: 'literal' };
const forced: Decision = { action: 'force-ipv4', triggers: ['cname-mx'], routes: [['192.0.2.1', '192.0.2.2'], ['192.0.2.3']] };

describe('answer formats', () => {
  test('sendmail: "," joins equal preference, ":" the next preference', () => {
    expect(replyFor(forced, sendmail, DEFAULT_POLICY)).toEqual({ status: 'OK', value: 'esmtp:[192.0.2.1],[192.0.2.2]:[192.0.2.3]' });
  });
  test("sendmail: the mailer name is the map's", () => {
    expect(replyFor(forced, { ...sendmail, mailer: 'relay', nexthop: 'literal' }, DEFAULT_POLICY)).toMatchObject({
      value: 'relay:[192.0.2.1],[192.0.2.2]:[192.0.2.3]',
    });
  });
  test('postfix: a next-hop list in preference order', () => {
    expect(replyFor(forced, postfix, DEFAULT_POLICY)).toEqual({ status: 'OK', value: 'smtp:[192.0.2.1], [192.0.2.2], [192.0.2.3]' });
  });
  test('postfix before 3.5: only the first next hop', () => {
    expect(replyFor(forced, postfix, { ...DEFAULT_POLICY, postfixSingleNexthop: true })).toEqual({ status: 'OK', value: 'smtp:[192.0.2.1]' });
  });
  test('the address cap keeps the most preferred addresses and their grouping', () => {
    expect(
      capRoutes(
        [
          ['a', 'b'],
          ['c', 'd'],
        ],
        3,
      ),
    ).toEqual([['a', 'b'], ['c']]);
    expect(replyFor(forced, sendmail, { ...DEFAULT_POLICY, maxAddresses: 1 })).toMatchObject({ value: 'esmtp:[192.0.2.1]' });
  });
  test('no address to route to is NOTFOUND, never an empty OK', () => {
    expect(replyFor({ action: 'force-ipv4', triggers: ['no-aaaa'], routes: [] }, sendmail, DEFAULT_POLICY)).toEqual({ status: 'NOTFOUND' });
  });
  test('leave is NOTFOUND', () => {
    expect(replyFor({ action: 'leave', reason: 'ipv6-ok' }, postfix, DEFAULT_POLICY)).toEqual({ status: 'NOTFOUND' });
  });
  test('DNS failure fails open by default and answers TEMP when asked to', () => {
    const failure: Decision = { action: 'dns-failure', detail: 'SERVFAIL for example.com MX' };
    expect(replyFor(failure, sendmail, DEFAULT_POLICY)).toEqual({ status: 'NOTFOUND' });
    expect(replyFor(failure, sendmail, { ...DEFAULT_POLICY, onDnsFailure: 'temp' })).toEqual({
      status: 'TEMP',
      reason: 'DNS failure: SERVFAIL for example.com MX',
    });
  });
  test('dry run answers NOTFOUND but the intended reply is still known', () => {
    const dry = { ...DEFAULT_POLICY, dryRun: true };
    expect(replyFor(forced, sendmail, dry)).toEqual({ status: 'NOTFOUND' });
    expect(intendedReply(forced, sendmail, dry)).toMatchObject({ status: 'OK' });
  });
});

describe('Postfix load spreading', () => {
  const wide: Decision = {
    action: 'force-ipv4',
    triggers: ['cname-mx'],
    routes: [
      ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
      ['192.0.2.4', '192.0.2.5'],
    ],
  };

  test('each preference group is rotated, one order per rotation; the order between groups is kept', () => {
    expect(replyOrders(wide, postfix, DEFAULT_POLICY).map((r) => (r.status === 'OK' ? r.value : ''))).toEqual([
      'smtp:[192.0.2.1], [192.0.2.2], [192.0.2.3], [192.0.2.4], [192.0.2.5]',
      'smtp:[192.0.2.2], [192.0.2.3], [192.0.2.1], [192.0.2.5], [192.0.2.4]',
      'smtp:[192.0.2.3], [192.0.2.1], [192.0.2.2], [192.0.2.4], [192.0.2.5]',
    ]);
  });

  test('with one next hop (Postfix < 3.5) the first hop takes turns among the most preferred', () => {
    expect(replyOrders(wide, postfix, { ...DEFAULT_POLICY, postfixSingleNexthop: true }).map((r) => (r.status === 'OK' ? r.value : ''))).toEqual([
      'smtp:[192.0.2.1]',
      'smtp:[192.0.2.2]',
      'smtp:[192.0.2.3]',
    ]);
  });

  test('rotation comes before the address cap, so every equally preferred host gets its turn', () => {
    const orders = replyOrders(wide, postfix, { ...DEFAULT_POLICY, maxAddresses: 1 }).map((r) => (r.status === 'OK' ? r.value : ''));
    expect(orders).toEqual(['smtp:[192.0.2.1]', 'smtp:[192.0.2.2]', 'smtp:[192.0.2.3]']);
  });

  test('sendmail gets one answer (it shuffles "," groups itself), and so do single hosts and dry runs', () => {
    expect(replyOrders(wide, sendmail, DEFAULT_POLICY)).toHaveLength(1);
    expect(replyOrders(forced, postfix, { ...DEFAULT_POLICY, dryRun: true })).toEqual([{ status: 'NOTFOUND' }]);
    expect(replyOrders({ action: 'force-ipv4', triggers: ['no-aaaa'], routes: [['192.0.2.1'], ['192.0.2.2']] }, postfix, DEFAULT_POLICY)).toHaveLength(1);
  });

  test('at most 8 orders, however wide the group', () => {
    const routes = [Array.from({ length: 20 }, (_, i) => `192.0.2.${i + 1}`)];
    expect(replyOrders({ action: 'force-ipv4', triggers: ['no-aaaa'], routes }, postfix, DEFAULT_POLICY)).toHaveLength(8);
  });
});
