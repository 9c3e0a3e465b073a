#!/bin/bash
# Throwaway single-node Ceph (mon + OSD + RGW) on 127.0.0.1 with auth off, for real-S3 tests.
# Usage: ceph-up.sh DIR RGW_PORT   (env: STORE=memstore|bluestore, MONPORT)
# Follows docs/s3-testing-with-radosgw.md §2.2. Writes DIR/pids (rgw osd mon) once everything runs;
# on any failure it kills whatever it started and exits non-zero, leaving DIR/log for the caller.
set -euo pipefail
D=$1; PORT=$2; STORE=${STORE:-memstore}; MONPORT=${MONPORT:-16789}
ACCESS_KEY=${RGW_ACCESS_KEY:-AKIATESTKEY0000000000}
SECRET_KEY=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000000}
case "$STORE" in memstore|bluestore) ;; *) echo "ceph-up: STORE must be memstore or bluestore" >&2; exit 2;; esac
rm -rf "$D"; mkdir -p "$D"/{mon,osd,rgw,run,log}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MONPORT
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# Without this RGW's first start waits ~10 s creating its pools one paxos round at a time.
paxos propose interval = 0.05
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
keyring = $D/keyring
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd
osd objectstore = $STORE
memstore device bytes = 4294967296
bluestore block create = true
# Sparse file; setting 'bluestore block path' breaks mkfs with ELOOP, so leave it at the default.
bluestore block size = 21474836480
# The default (true) intermittently makes the OSD exit with "wrong fsid"; we add it to CRUSH by hand.
osd crush update on start = false
osd class update on start = false
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
EOF
C=(-c "$D/ceph.conf")

# A failed start must not leave a mon (or anything else) running: kill every daemon that wrote a pid file.
cleanup() {
  for f in "$D"/run/*.pid; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
  return 0
}
trap 'echo "ceph-up: failed at line $LINENO" >&2; cleanup' ERR

step() { echo "ceph-up: $*" >&2; }

step "mkfs mon"
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$MONPORT]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" -i a --mkfs --monmap "$D/monmap" --keyring "$D/keyring"
step "start mon on :$MONPORT"
ceph-mon "${C[@]}" -i a
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
timeout 60 ceph "${C[@]}" osd new "$OSD_UUID" >/dev/null
step "mkfs osd ($STORE)"
ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>>"$D/log/mkfs.err"
timeout 60 ceph "${C[@]}" osd crush add osd.0 1.0 root=default host=localhost >/dev/null 2>&1
step "start osd"
ceph-osd "${C[@]}" -i 0
step "start rgw on :$PORT"
radosgw "${C[@]}" -n client.rgw
for f in mon.a osd.0 client.rgw; do
  for _ in $(seq 100); do [ -s "$D/run/$f.pid" ] && break; sleep 0.1; done
  [ -s "$D/run/$f.pid" ] || { echo "ceph-up: $f wrote no pid file" >&2; false; }
done
# Written only after all three pid files exist, so the caller never sees a partial list.
cat "$D/run/client.rgw.pid" "$D/run/osd.0.pid" "$D/run/mon.a.pid" > "$D/pids.tmp"
mv "$D/pids.tmp" "$D/pids"
up=0
for _ in $(seq 600); do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then up=1; break; fi
  for f in mon.a osd.0 client.rgw; do
    kill -0 "$(cat "$D/run/$f.pid")" 2>/dev/null || { echo "ceph-up: $f exited during start-up" >&2; false; }
  done
  sleep 0.1
done
[ "$up" = 1 ] || { echo "ceph-up: rgw did not answer HTTP on :$PORT within 60 s" >&2; false; }
step "create S3 user"
timeout 60 radosgw-admin "${C[@]}" user create --uid=test --display-name=test \
  --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null
step "up"
