#!/usr/bin/env bash
# Imports people.csv into a fresh SQLite file twice: the second run reports every row unchanged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scimitar="${SCIMITAR:-$here/../../.venv/bin/scimitar}"
db="sqlite:///${TMPDIR:-/tmp}/scimitar-example-import-$$.db"
"$scimitar" --db "$db" org create hr
"$scimitar" --db "$db" import --org hr "$here/people.csv" --mapping "$here/mapping.py" --rules "$here/../../rules" || true
"$scimitar" --db "$db" import --org hr "$here/people.csv" --mapping "$here/mapping.py" --rules "$here/../../rules" || true
"$scimitar" --db "$db" members --org hr
