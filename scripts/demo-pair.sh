#!/usr/bin/env bash
# Kept for old links: the HA pair demo is `sudo ./tandem demo --pair` (lb-core cli/DemoPair.java).
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tandem" demo --pair "$@"
