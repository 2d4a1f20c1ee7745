/**
 * The real Postfix socketmap client (`postmap -q`) against the built `mx4map serve`, deciding from the
 * fixture DNS. Needs postmap unpacked by scripts/install-mtas.sh (.ci/run runs it).
 */
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { postfixMissing, postmapQuery, snippetTable } from '../support/postfix';
import { describeRequiring } from '../support/requires';

const describeWithPostfix = describeRequiring(postfixMissing(), 'real-Postfix tests');

describeWithPostfix('postmap -q socketmap:inet:…:transport (from cf-snippets/postfix-main.cf)', () => {
  let rig: ServeRig;
  let table: string;
  beforeAll(async () => {
    rig = await startServeRig();
    table = snippetTable(rig.serve.port);
  });
  afterAll(() => rig.close());

  test('the snippet names the transport map on the default endpoint', () => {
    expect(table).toBe(`socketmap:inet:127.0.0.1:${rig.serve.port}:transport`);
  });

  test('a forced domain: the full recipient address gets an smtp next-hop list', async () => {
    const r = await postmapQuery('User@Multi.Test', table);
    expect(r).toMatchObject({ status: 0, stdout: 'smtp:[192.0.2.5], [192.0.2.3], [192.0.2.1], [192.0.2.4]\n' });
  });

  test('a CNAME MX host', async () => {
    expect((await postmapQuery('someone@cname-mx.test', table)).stdout).toBe('smtp:[192.0.2.10]\n');
  });

  test('an untouched domain is not found (exit 1), as is the wildcard key', async () => {
    expect(await postmapQuery('someone@ipv6-ok.test', table)).toMatchObject({ status: 1, stdout: '' });
    expect(await postmapQuery('*', table)).toMatchObject({ status: 1, stdout: '' });
  });

  test('a DNS failure fails open: not found, not an error', async () => {
    const r = await postmapQuery('someone@servfail.test', table);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toBe('');
  });

  test('an unknown map name is a configuration error to Postfix (PERM)', async () => {
    const r = await postmapQuery('someone@multi.test', table.replace(/:transport$/, ':nosuchmap'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/permanent error: unknown map nosuchmap/);
  });
});

describeWithPostfix('postmap -q on a map that keeps the next hop (nexthop: domain), beside one that routes to literals', () => {
  let rig: ServeRig;
  beforeAll(async () => {
    rig = await startServeRig(['--map', 'transport=postfix:smtp', '--map', 'transport4=postfix:smtp4:domain']);
  });
  afterAll(() => rig.close());
  const table = (map: string): string => snippetTable(rig.serve.port).replace(/:transport$/, `:${map}`);

  test('a forced domain: the smtp4 service with an empty next hop, which Postfix reads as the recipient domain', async () => {
    expect(await postmapQuery('someone@cname-mx.test', table('transport4'))).toMatchObject({ status: 0, stdout: 'smtp4:\n' });
  });

  test('a domain that publishes MTA-STS: not found on the literal map (secure_domains: skip), smtp4: on the next-hop map', async () => {
    expect(await postmapQuery('someone@sts.test', table('transport'))).toMatchObject({ status: 1, stdout: '' });
    expect(await postmapQuery('someone@sts.test', table('transport4'))).toMatchObject({ status: 0, stdout: 'smtp4:\n' });
  });

  test('an untouched domain is not found on either', async () => {
    expect(await postmapQuery('someone@ipv6-ok.test', table('transport4'))).toMatchObject({ status: 1, stdout: '' });
  });
});

describeWithPostfix('postmap with Postfix before 3.5 settings (one next hop)', () => {
  let rig: ServeRig;
  beforeAll(async () => {
    rig = await startServeRig(['--postfix-single-nexthop']);
  });
  afterAll(() => rig.close());

  test('only the most preferred address', async () => {
    expect((await postmapQuery('a@multi.test', snippetTable(rig.serve.port))).stdout).toBe('smtp:[192.0.2.5]\n');
  });
});
