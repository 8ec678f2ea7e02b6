#!/usr/bin/env bash
# Real engines the tests use, from Debian's packages (no mocks): clickhouse-server for the
# HTTP path, docker.io and busybox-static for the lab's containers, postgresql for the
# Prefect DB's watermarks, prometheus for promtool and a live Prometheus, alertmanager for the
# live fire, chromium (and a font) to open every report headless. Installs what is missing when
# run as root with apt-get; otherwise says how.
set -euo pipefail
need=()
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
[ -x /usr/bin/promtool ] || need+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "tests/setup.sh: installing ${need[*]} from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "tests/setup.sh: missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' and try again" >&2
  exit 1
fi
