#!/usr/bin/env bash
# Installs everything, then starts scimitar on its embedded default: a SQLite file in this folder
# (scimitar.db) and the rules in rules/. On first start it creates an organization and a token and
# prints them once. Extra arguments go to `scimitar serve` (e.g. --port 0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/scimitar --db "${SCIMITAR_DB:-sqlite:///scimitar.db}" serve --rules rules "$@"
