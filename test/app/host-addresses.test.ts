import { readHostNames, readInterfaceAddresses } from '../../src/app/host-addresses';
import { currentHostView, reportInterfaces } from '../../src/app/assemble';
import { DomainSet } from '../../src/domain/domain-set';
import { loadConfig } from '../../src/config/load';
import { logSink } from '../support/log-sink';

/** What Node throws from os.networkInterfaces() when a seccomp filter forbids netlink sockets. */
function netlinkForbidden(): never {
  const err = new Error('A system error occurred: uv_interface_addresses returned Unknown system error 97') as Error & { info: object };
  err.info = { errno: 97, code: 'Unknown system error 97', message: 'Unknown system error 97', syscall: 'uv_interface_addresses' };
  throw err;
}

const eth0 = { address: '198.51.100.25', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '00:00:00:00:00:01', internal: false, cidr: null };

describe("reading this host's interfaces", () => {
  test('a readable table gives its non-internal addresses', () => {
    expect(readInterfaceAddresses(() => ({ eth0: [eth0] }))).toEqual({ addresses: ['198.51.100.25'] });
  });

  test('netlink forbidden: no exception, no addresses, a problem in one line that names the fix', () => {
    const read = readInterfaceAddresses(netlinkForbidden);
    expect(read.addresses).toEqual([]);
    expect('problem' in read && read.problem).toBe(
      'uv_interface_addresses: netlink sockets are not allowed here (a systemd unit needs AF_NETLINK in RestrictAddressFamilies=)',
    );
  });

  test('another failure is named by its code; a plain error by its message', () => {
    const other = (): never => {
      throw Object.assign(new Error('x'), { info: { errno: 12, code: 'ENOMEM', syscall: 'uv_interface_addresses' } });
    };
    expect(readInterfaceAddresses(other)).toEqual({ addresses: [], problem: 'uv_interface_addresses: ENOMEM' });
    expect(
      readInterfaceAddresses(() => {
        throw new Error('boom');
      }),
    ).toEqual({ addresses: [], problem: 'boom' });
  });

  test('a host name that cannot be read gives none', () => {
    expect(readHostNames(() => 'mail.example')).toEqual(['mail.example']);
    expect(
      readHostNames(() => {
        throw new Error('no');
      }),
    ).toEqual([]);
  });

  test('unreadable interfaces: local_addresses still make an address our own', () => {
    const config = loadConfig({ localAddresses: '203.0.113.7' }, '', {});
    const view = currentHostView(config, new DomainSet(), () => readInterfaceAddresses(netlinkForbidden));
    expect(view.locality.isOwn('203.0.113.7')).toBe(true);
    expect(view.locality.isOwn('198.51.100.25')).toBe(false);
    expect('problem' in view.interfaces).toBe(true);
  });

  test('one warning when the read starts failing, none while it keeps failing, one line when it works again', () => {
    const sink = logSink('info');
    const { log } = sink;
    const bad = readInterfaceAddresses(netlinkForbidden);
    const good = readInterfaceAddresses(() => ({ eth0: [eth0] }));
    reportInterfaces(undefined, good, log);
    reportInterfaces(good, bad, log);
    reportInterfaces(bad, bad, log);
    reportInterfaces(bad, good, log);
    expect(sink.lines.map((l) => l.evt)).toEqual(['interfaces-unreadable', 'interfaces-readable']);
    expect(sink.lines[0].level).toBe(40);
  });
});
