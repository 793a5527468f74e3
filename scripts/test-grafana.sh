#!/usr/bin/env bash
# The Grafana dashboard (dashboards/greenkube.json) against a real Prometheus: loads the demo
# into a temporary store, serves it with `greenkube serve`, lets Debian's Prometheus scrape
# /prometheus/metrics, then runs every query of every panel (and the variables' label queries)
# and fails on any query that errors or returns nothing.
# Usage: scripts/test-grafana.sh PATH/TO/greenkube     (prometheus must be installed: test.sh's
#        Prometheus step installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
greenkube=${1:?give the greenkube binary}
command -v prometheus >/dev/null || { echo "prometheus is not installed (scripts/prometheus-service.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
end=2025-06-03T00:00:00Z
(cd "$work" && "$greenkube" demo --days 2 --end "$end" --store sqlite://gk.db --no-serve >/dev/null 2>demo.err) \
  || { cat "$work/demo.err" >&2; exit 1; }
"$greenkube" serve --store "sqlite://$work/gk.db" --listen 127.0.0.1:0 --now "$end" --no-kubernetes 2>"$work/serve.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q ' on http://' "$work/serve.err" 2>/dev/null && break; sleep 0.2; done
address=$(sed -n 's/.* on http:\/\/\([0-9.:]*\).*/\1/p' "$work/serve.err" | head -n 1)
[ -n "$address" ] || { cat "$work/serve.err" >&2; exit 1; }
# A scan saves recommendations, so their gauges have something to show.
curl -fsS "http://$address/api/v1/recommendations" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: greenkube
    metrics_path: /prometheus/metrics
    static_configs:
      - targets: ['$address']
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
python3 - "http://127.0.0.1:$port" dashboards/greenkube.json <<'PY'
import json, sys, time, urllib.parse, urllib.request
base, path = sys.argv[1], sys.argv[2]
def query(expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)
deadline = time.time() + 60
while True:
    try:
        if query('up{job="greenkube"} == 1')["data"]["result"] and query("greenkube_cluster_co2e_grams_total")["data"]["result"]:
            break
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit("Prometheus did not scrape greenkube within 60 s")
    time.sleep(1)
dashboard = json.load(open(path))
values = {"$cluster": "demo", "$window": "7d", "$namespace": ".*", "${DS_PROMETHEUS}": ""}
def fill(expr):
    for k, v in values.items():
        expr = expr.replace(k, v)
    return expr
failures, checked = [], 0
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        expr = fill(target["expr"])
        checked += 1
        try:
            answer = query(expr)
        except Exception as e:
            failures.append(f"{panel['title']}: {expr}: {e}")
            continue
        if answer.get("status") != "success":
            failures.append(f"{panel['title']}: {expr}: {answer}")
        elif not answer["data"]["result"]:
            failures.append(f"{panel['title']}: {expr}: no data")
for variable in dashboard["templating"]["list"]:
    definition = variable.get("definition", "")
    if definition.startswith("label_values("):
        inner = definition[len("label_values("):-1]
        metric, label = [p.strip() for p in inner.rsplit(",", 1)]
        url = base + f"/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": fill(metric)})
        with urllib.request.urlopen(url, timeout=10) as r:
            found = json.load(r)["data"]
        checked += 1
        if not found:
            failures.append(f"variable {variable['name']}: {definition}: no values")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(f"{len(failures)} of {checked} dashboard queries failed")
print(f"ok: {checked} dashboard queries answered by Prometheus")
PY
