#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need where it is missing:
# Debian's ZooKeeper (started and stopped by the tests themselves), Debian's systemd
# (`systemd-analyze verify` checks the generated unit), the third-party Mesos
# client pymesos used by the interoperability test, the API fuzzer schemathesis, and the
# real Apache Mesos harness (`../shared/real-mesos`, beside the workspace) the scenario
# suite runs against.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need_apt+=(zookeeperd)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
dpkg -s python3-http-parser >/dev/null 2>&1 || need_apt+=(python3-http-parser)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! /usr/bin/python3 -c 'import pymesos' >/dev/null 2>&1; then
  echo "installing pymesos"
  /usr/bin/python3 -m pip install --quiet --break-system-packages --no-deps pymesos six addict
fi
if ! command -v st >/dev/null 2>&1; then
  echo "installing schemathesis"
  /usr/bin/python3 -m pip install --quiet --break-system-packages schemathesis
fi

# The real Mesos harness installs itself under REAL_MESOS_HOME (default /opt/real-mesos)
# and writes nothing into its own folder, so a read-only copy works.
REAL_MESOS_DIR="${STEAD_REAL_MESOS_DIR:-../shared/real-mesos}"
if [ ! -x "${REAL_MESOS_HOME:-/opt/real-mesos}/bin/mesos-local-launcher" ]; then
  echo "installing the real Mesos harness"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
  $SUDO bash "$REAL_MESOS_DIR/setup.sh"
fi

cargo test --workspace "$@"
