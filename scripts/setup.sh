#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: system packages (when run as root
# or with sudo), a virtual environment and the Python packages. Safe to run again.
set -euo pipefail
VENV="${1:-.venv}"

# Debian packages: Java 17 for Spark, Chromium for the browser tests, fonts and Pango for PDF forms, gcc for
# the FortiGate tokeniser in C (connectors/parsers/_kvscan.c; without it, a slower pure-Python one is used).
DEB_PACKAGES=(openjdk-17-jre-headless chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 gcc)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if command -v java >/dev/null 2>&1 && [[ " ${missing[*]} " == *" openjdk-17-jre-headless "* ]]; then
    # A Java 17 is already on the PATH (e.g. a JDK): no need for the JRE package.
    java -version 2>&1 | grep -q '"17' && missing=("${missing[@]/openjdk-17-jre-headless}")
  fi
  missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
fi
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"
echo "setup: done ($("$VENV/bin/python" --version), $(java -version 2>&1 | head -1))"
