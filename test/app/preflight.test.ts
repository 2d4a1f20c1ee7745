import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflight } from '../../src/app/preflight';
import { resolveConfig } from '../../src/config/load';

const dir = mkdtempSync(join(tmpdir(), 'mx4map-preflight-'));
const groupFile = join(dir, 'group');
writeFileSync(groupFile, 'root:x:0:\nsmmsp:x:115:\npostfix:x:120:\n');
const config = resolveConfig({ flags: { listen: [`unix:${dir}/mx4map.sock`], socketGroup: 'smmsp', dns: ['127.0.0.1:53'] }, env: {} });

describe('preflight: the socket group', () => {
  test('an unprivileged process outside the group cannot give the socket to it: one line saying what to add to the unit', async () => {
    expect(await preflight(config, { groupFile, identity: { uid: 61234, gid: 61234, groups: [] } })).toEqual([
      'socket_group "smmsp": mx4map runs as uid 61234, which is not in that group, so it cannot give the socket to it; add SupplementaryGroups=smmsp to the unit, or leave socket_group empty',
    ]);
  });

  test('a member (supplementary group), or root, may', async () => {
    expect(await preflight(config, { groupFile, identity: { uid: 61234, gid: 61234, groups: [115] } })).toEqual([]);
    expect(await preflight(config, { groupFile, identity: { uid: 0, gid: 0, groups: [] } })).toEqual([]);
  });

  test('under socket activation the listen option, its directories and the group are not used, so not checked', async () => {
    const missing = resolveConfig({ flags: { listen: ['unix:/nonexistent-mx4map/s.sock'], socketGroup: 'nosuch', dns: ['127.0.0.1:53'] }, env: {} });
    expect(await preflight(missing, { activated: true, groupFile })).toEqual([]);
    expect(await preflight(missing, { groupFile })).toHaveLength(2);
  });
});
