#!/usr/bin/env bash
# Soak benchmark (bench/soak.py): 30 minutes of mixed SCIM traffic at half of the measured peak,
# sampling the server's RSS, descriptors and threads. SOAK_SECONDS=120 for a short look.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/python bench/soak.py
