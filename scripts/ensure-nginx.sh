#!/usr/bin/env bash
# The replica tests (tests/deploy) put Debian's nginx in front of two studio processes. Install it when missing and
# this runs as root; otherwise say why and exit 0, so those tests skip with the reason instead of failing the suite.
# The tests start their own nginx on loopback: installing must not start the system service, so a policy-rc.d that
# forbids starting services is put in place for the install when the machine has none.
set -uo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-nginx: nginx is missing and this is not root; the replica tests (tests/deploy) will be skipped" \
       "(install it with: sudo apt-get install nginx)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nginx: nginx is missing and there is no apt-get; the replica tests (tests/deploy) will be skipped"
  exit 0
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# ensure-nginx: no service starts while nginx is installed\nexit 101\n' >"$policy"
  chmod +x "$policy"
  made_policy=1
fi
echo "ensure-nginx: installing nginx with apt-get"
apt-get update -qq >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1
status=$?
[ "$made_policy" = "1" ] && rm -f "$policy"
if [ "$status" != "0" ]; then
  echo "ensure-nginx: apt-get install nginx failed (exit $status); the replica tests (tests/deploy) will be skipped"
fi
exit 0
