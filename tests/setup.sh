#!/usr/bin/env bash
# Real engines the tests use, from Debian's packages (no mocks), from the one list in lib/io/packages.ts: the Docker
# engine and busybox-static for the lab, clickhouse-server for the HTTP path, postgresql for the Prefect DB's
# watermarks, prometheus (promtool, a live Prometheus) and alertmanager for the live fire, chromium and a font to open
# every report headless. Installs what is missing when run as root with apt-get; otherwise says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
bun lib/io/setup-cli.ts --for tests
