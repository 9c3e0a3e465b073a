#!/usr/bin/env node
// What the tests need from the system besides npm packages: a real Ceph radosgw for S3 (the tests start
// and stop it), curl and python3 (the speed anchors). `npm test` runs this first, and so does .ci/run:
// what is missing is installed with apt-get when this runs as root on Debian or Ubuntu; otherwise it
// says in one line what to run. Nothing is skipped: without radosgw the S3 tests would fail.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd', 'python3', 'curl'];
const TOOLS = [
  'radosgw',
  'radosgw-admin',
  'ceph',
  'ceph-mon',
  'ceph-osd',
  'ceph-authtool',
  'monmaptool',
  'curl',
  'python3',
];

function onPath(tool) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

const missing = () => TOOLS.filter((t) => !onPath(t));
if (missing().length === 0) process.exit(0);

const command = `apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`;
const isRoot = process.getuid?.() === 0;
if (!isRoot || !onPath('apt-get')) {
  console.error(
    `The tests need ${missing().join(', ')} (Ceph radosgw for S3): run \`sudo apt-get update && sudo ${command}\`, then npm test again.`,
  );
  process.exit(1);
}
console.error(`Installing what the tests need (${missing().join(', ')}): apt-get update && ${command}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-q'], command.split(' ').slice(1)]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (missing().length > 0) {
  console.error(`Still missing after apt-get: ${missing().join(', ')}`);
  process.exit(1);
}
