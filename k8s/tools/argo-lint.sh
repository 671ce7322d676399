#!/usr/bin/env bash
# Argo's own validation of what the project submits: `argo lint --offline` (the pinned Argo CLI,
# built by k8s/tools/build-cluster.sh argo_cli) on the chart as rendered, and on the Workflows in
# argo/, whose workflowTemplateRef it resolves against the first rendering (the release named
# breweries, as argo/ assumes).
#
#   k8s/tools/argo-lint.sh DEFAULT_RENDERING [OTHER_RENDERING...]   folders of helm template --output-dir
set -euo pipefail
cd "$(dirname "$0")/../.."
argo=.tools/bin/argo
[ -x "$argo" ] || k8s/tools/build-cluster.sh argo_cli
[ $# -gt 0 ] || { echo "usage: argo-lint.sh RENDERED_DIR..." >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Hand-submitted Workflows name no namespace (argo submit -n breweries gives it); the offline linter
# looks their template up in the Workflow's own namespace, so give them the chart's.
python3 - "$work" argo/*.yaml <<'PY'
import sys
from pathlib import Path
import yaml
out = Path(sys.argv[1])
for name in sys.argv[2:]:
    documents = [d for d in yaml.safe_load_all(Path(name).read_text()) if d]
    for document in documents:
        document.setdefault("metadata", {}).setdefault("namespace", "breweries")
    (out / Path(name).name).write_text(yaml.safe_dump_all(documents))
PY
status=0
echo "argo lint --offline: $1 and argo/"
"$argo" lint --offline --no-color "$1" "$work" || status=1
for rendered in "${@:2}"; do
  echo "argo lint --offline: $rendered"
  "$argo" lint --offline --no-color "$rendered" || status=1
done
exit $status
