#!/usr/bin/env bash
# The deploy files are valid, offline: YAML syntax (yamllint), Kubernetes
# schemas (kubernetes-models from npm), the dashboard is JSON, and every flag
# and CONSENTD_* variable the files pass to consentd exists in consentd.
# Usage: deploy_files_test.sh CONSENTD SOURCE_DIR NPM_DIR
set -euo pipefail
CONSENTD=$1 SRC=$2 NPM_DIR=$3
DEPLOY="$SRC/deploy"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. YAML syntax and style.
yamllint -c "$SRC/.yamllint" "$DEPLOY/kubernetes" "$DEPLOY/prometheus" || fail "yamllint"

# 2. Kubernetes schemas (kubernetes-models from the npm registry, with
# Debian's Node.js when the machine has none).
if ! command -v npm >/dev/null; then
  . "$SRC/deploy/local/lib.sh"
  install_packages nodejs npm
fi
if [ ! -d "$NPM_DIR/node_modules/kubernetes-models" ]; then
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm init -y >/dev/null &&
   npm install --no-audit --no-fund --silent kubernetes-models@4 yaml@2 \
     @kubernetes-models/prometheus-operator@4 >/dev/null)
fi
cp "$SRC/tests/e2e/validate_manifests.js" "$NPM_DIR/"
node "$NPM_DIR/validate_manifests.js" "$DEPLOY/kubernetes" || fail "Kubernetes schemas"

# 3. What the manifest ships is what consentd would run with: the ConfigMap
# holds config/ verbatim, and the Secret's placeholders stop the start with
# a message naming the file (rather than run with a guessable key).
(cd "$NPM_DIR" && node -e '
  const fs = require("fs"), YAML = require("yaml");
  const docs = YAML.parseAllDocuments(fs.readFileSync(process.argv[1], "utf8")).map(d => d.toJS());
  const cm = docs.find(d => d && d.kind === "ConfigMap").data;
  const secret = docs.find(d => d && d.kind === "Secret").stringData;
  fs.writeFileSync("cm-policy.json", cm["policy.json"]);
  fs.writeFileSync("cm-regions.txt", cm["regions.txt"]);
  fs.writeFileSync("secret-tokens", secret["tokens"]);
  fs.writeFileSync("secret-audit.keys", secret["audit.keys"]);
' "$DEPLOY/kubernetes/consentd.yaml") || fail "cannot read the ConfigMap and Secret"
cmp -s "$NPM_DIR/cm-policy.json" "$SRC/config/policies/2026-01-12.json" \
  || fail "the ConfigMap's policy.json differs from config/policies/2026-01-12.json (run deploy/kubernetes/sync-config.sh)"
cmp -s "$NPM_DIR/cm-regions.txt" "$SRC/config/regions.txt" \
  || fail "the ConfigMap's regions.txt differs from config/regions.txt (run deploy/kubernetes/sync-config.sh)"
echo "admin ci $(printf x | sha256sum | cut -d' ' -f1)" >"$NPM_DIR/valid-tokens"
for f in tokens audit.keys; do
  tokens="$NPM_DIR/secret-tokens"; extra=()
  [ $f = audit.keys ] && tokens="$NPM_DIR/valid-tokens" extra=(--audit_key_file="$NPM_DIR/secret-$f")
  out=$("$CONSENTD" --database_url="host=/nonexistent" --auth_tokens_file="$tokens" "${extra[@]}" 2>&1) \
    && fail "consentd started with the Secret's placeholder $f"
  grep -q "secret-$f" <<<"$out" || fail "the refusal of the placeholder $f does not name the file: $out"
done

# 4. The systemd unit parses (systemd-analyze prints what it cannot parse).
unit_dir=$(mktemp -d)
sed "s#/usr/local/bin/consentd#$CONSENTD#" "$DEPLOY/systemd/consentd.service" >"$unit_dir/consentd.service"
unit_out=$(systemd-analyze verify "$unit_dir/consentd.service" 2>&1) || fail "systemd-analyze: $unit_out"
[ -z "$unit_out" ] || fail "systemd-analyze: $unit_out"
rm -rf "$unit_dir"

# 5. The dashboard is JSON with panels.
node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
         if (!d.panels || d.panels.length < 10) process.exit(1);' \
  "$DEPLOY/grafana/consentd-dashboard.json" || fail "the dashboard is not valid JSON"

# 6. Flags and variables exist in consentd.
flags=$({ "$CONSENTD" --helpfull 2>&1 || true; } | sed -n 's/^ *--\([a-z_]*\) (.*/\1/p' | sort -u)
[ -n "$flags" ] || fail "cannot list consentd's flags"
# The image's runtime stage (the build stage configures CMake, not consentd).
awk '/^FROM/ { stage++ } stage == 2' "$DEPLOY/Dockerfile" >"$NPM_DIR/runtime-stage"
files=("$DEPLOY/kubernetes/consentd.yaml" "$DEPLOY/systemd/consentd.service")
used_flags=$(grep -ohE -- '--[a-z_]+=' "${files[@]}" | sed 's/^--//; s/=$//' | sort -u)
used_vars=$(grep -ohE 'CONSENTD_[A-Z_]+' "${files[@]}" "$NPM_DIR/runtime-stage" | sort -u)
for f in $used_flags; do
  grep -qx "$f" <<<"$flags" || fail "--$f is passed by a deploy file but consentd has no such flag"
done
for v in $used_vars; do
  f=$(echo "${v#CONSENTD_}" | tr 'A-Z' 'a-z')
  grep -qx "$f" <<<"$flags" || fail "$v is set by a deploy file but consentd has no flag --$f"
done
[ -n "$used_flags" ] && [ -n "$used_vars" ] || fail "found no flags or variables to check"

# 7. Every flag of consentd's own is in docs/configuration.md.
own_flags=$({ "$CONSENTD" --helpfull 2>&1 || true; } \
  | awk '/Flags from .*server\/main.cc/ { f = 1; next } /^  Flags from/ { f = 0 } f' \
  | sed -n 's/^ *--\([a-z_]*\) (.*/\1/p')
[ -n "$own_flags" ] || fail "cannot list consentd's own flags"
for f in $own_flags; do
  grep -q -- "\`--$f\`" "$SRC/docs/configuration.md" || fail "--$f is not documented in docs/configuration.md"
done

if [ $failures -ne 0 ]; then exit 1; fi
echo "deploy files: yamllint, schemas, dashboard, $(echo $used_flags | wc -w) flags and $(echo $used_vars | wc -w) variables checked"
