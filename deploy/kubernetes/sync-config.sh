#!/usr/bin/env bash
# Copies config/policies/2026-01-12.json and config/regions.txt into the
# ConfigMap of consentd.yaml (the test suite checks they are identical).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=../..
indent() { sed 's/^\(.\)/    \1/' "$1"; }
{
  sed -n '1,/^  policy.json: |$/p' consentd.yaml
  indent "$ROOT/config/policies/2026-01-12.json"
  echo "  regions.txt: |"
  indent "$ROOT/config/regions.txt"
  sed -n '/^---$/,$p' consentd.yaml | sed -n '2,$p' | sed -n '/^---$/,$p'
} >consentd.yaml.new
mv consentd.yaml.new consentd.yaml
