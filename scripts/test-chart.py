"""The Helm chart (charts/greenkube) and the Dockerfile, checked for real.

Run by scripts/test-chart.sh, which provides the interpreter (a venv with helm-python-sdk: Helm's
own Go SDK, template engine and linter, through a C library; and kubernetes-validate) and the
Kubernetes API emulator's URL (GREENKUBE_TEST_KUBE_URL). Every check fails loudly; nothing is
skipped.

  1. `helm lint --strict` on every value set below (Kubernetes 1.30 and 1.35);
  2. renders each value set with Helm's engine and checks what it must say: the objects, the
     commands, the GREENKUBE_* variables (each one a variable the CLI reads), secrets only
     through secretKeyRef, probes, ports and selectors that agree, the security context, RBAC
     that only reads;
  3. validates every rendered object against the Kubernetes OpenAPI schemas (strict: unknown
     fields refused) of 1.30 and 1.35, and the ServiceMonitor against the fields of its CRD;
  4. bad values are refused by values.schema.json (and by the templates' own `fail`) with a
     message naming the problem;
  5. applies every rendered object to the emulator with plain HTTP (POST to the path its API
     discovery gives for the kind), reads each back (GET and LIST), deletes it;
  6. the Dockerfile: the build stage runs the test command's release build, the runtime user is
     not root, and the image's entry point, port, user and version agree with the chart and CLI.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.metadata as metadata
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "greenkube"
KUBE_VERSIONS = ("1.30.0", "1.35.0")
FAILURES: list[str] = []
PASSED = 0


def check(condition: bool, what: str) -> None:
    global PASSED
    if condition:
        PASSED += 1
    else:
        FAILURES.append(what)
        print(f"  FAIL: {what}", file=sys.stderr)


def section(title: str) -> None:
    print(f"-- {title}", flush=True)


# ---------------------------------------------------------------- what the CLI reads

# The CLI's arguments live in greenkube-cli/src/args.rs or, since the split, args/*.rs.
ARGS_RS = "\n".join(
    p.read_text()
    for p in sorted((ROOT / "greenkube-cli" / "src").glob("args*.rs"))
    + sorted((ROOT / "greenkube-cli" / "src" / "args").glob("*.rs"))
)
CLI_ENV = set(re.findall(r'env = "(GREENKUBE_[A-Z_]+)"', ARGS_RS))
assert "GREENKUBE_STORE" in CLI_ENV and "GREENKUBE_API_KEY" in CLI_ENV, "args.rs parse"
CLI_LISTEN_DEFAULT = re.search(
    r'env = "GREENKUBE_LISTEN",\s*default_value = "([^"]+)"', ARGS_RS
).group(1)
SERVE_ROUTES = set(
    re.findall(r'\.route\("([^"]+)"', (ROOT / "greenkube-cli/src/serve/mod.rs").read_text())
)
WORKSPACE_VERSION = re.search(
    r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"',
    (ROOT / "Cargo.toml").read_text(),
    re.M | re.S,
).group(1)
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
DEFAULT_VALUES = yaml.safe_load((CHART / "values.yaml").read_text())

# ---------------------------------------------------------------- value sets

SETS: dict[str, dict] = {
    # The defaults: combined mode, SQLite on a PersistentVolumeClaim.
    "sqlite-defaults": {},
    # PostgreSQL from an existing Secret, two Deployments, the token and key from existing
    # Secrets, sources given (so no discovery rules).
    "postgres-split": {
        "mode": "split",
        "cluster": "prod-eu",
        "store": {"kind": "postgres", "existingSecret": "greenkube-db", "existingSecretKey": "url"},
        "api": {"replicas": 2, "corsOrigins": ["https://grafana.example.com"]},
        "collector": {"methodology": "classic", "retention": {"keepRaw": "14d"}},
        "sources": {
            "prometheusUrl": "http://prometheus-server.monitoring:9090",
            "opencostUrl": "http://opencost.opencost:9003",
        },
        "rbac": {"discovery": False},
        "electricityMapsToken": {"existingSecret": "greenkube-tokens", "existingSecretKey": "em"},
        "apiKey": {"existingSecret": "greenkube-tokens", "existingSecretKey": "api"},
        "image": {"repository": "registry.example.com/greenkube", "tag": "0.1.0-rc1"},
    },
    # Elasticsearch, URL, token and key created from values; Ingress with TLS; ServiceMonitor.
    "elasticsearch-ingress": {
        "store": {"kind": "elasticsearch", "url": "https://gk:PLANTED-ES-PW@es.example.com:9200"},
        "electricityMapsToken": {"value": "PLANTED-EM-TOKEN"},
        "apiKey": {"value": "PLANTED-API-KEY"},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [{"host": "greenkube.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"secretName": "greenkube-tls", "hosts": ["greenkube.example.com"]}],
        },
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "extraEnv": [{"name": "RUST_LOG", "value": "info"}],
    },
    # SQLite on an existing claim; an emptyDir variant is rendered in the refusal section.
    "sqlite-existing-claim": {
        "store": {"sqlite": {"persistence": {"existingClaim": "my-claim"}}},
        "sources": {"noKubernetes": True, "prometheusUrl": "http://prom:9090"},
    },
}

EXPECTED_KINDS = {
    "sqlite-defaults": ["ClusterRole", "ClusterRoleBinding", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"],
    "postgres-split": ["ClusterRole", "ClusterRoleBinding", "Deployment", "Deployment", "Service", "ServiceAccount"],
    "elasticsearch-ingress": ["ClusterRole", "ClusterRoleBinding", "Deployment", "Ingress", "Secret", "Service", "ServiceAccount", "ServiceMonitor"],
    "sqlite-existing-claim": ["Deployment", "Service", "ServiceAccount"],
}

COLLECTOR_RULES = [
    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["list"]},
]
DISCOVERY_RULES = [
    {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]},
]


def namespace_of(name: str) -> str:
    return f"chart-{name}-{os.getpid()}"


def render(chart: helm.Chart, values: dict, name: str = "gk", namespace: str = "greenkube") -> list[dict]:
    out = chart.render(values, name=name, namespace=namespace, is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc["__template"] = path
                docs.append(doc)
    return docs


def strip(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "__template"}


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


# ---------------------------------------------------------------- 2. what the rendered objects say


def check_rendered(set_name: str, values: dict, docs: list[dict], namespace: str) -> None:
    merged = helm_merge(values)
    kinds = sorted(d["kind"] for d in docs)
    check(kinds == EXPECTED_KINDS[set_name], f"{set_name}: kinds {kinds} != {EXPECTED_KINDS[set_name]}")
    for d in docs:
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            check(d["metadata"].get("namespace") == namespace, f"{set_name}: {d['kind']} {d['metadata']['name']} not in {namespace}")
        labels = d["metadata"].get("labels", {})
        check(labels.get("app.kubernetes.io/instance") == "gk", f"{set_name}: {d['kind']} without the instance label")

    deployments = by_kind(docs, "Deployment")
    split = merged["mode"] == "split"
    servers = [d for d in deployments if d["spec"]["template"]["spec"]["containers"][0]["args"][0] == "serve"]
    collectors = [d for d in deployments if d["spec"]["template"]["spec"]["containers"][0]["args"] == ["collect"]]
    check(len(servers) == 1, f"{set_name}: one server Deployment")
    check(len(collectors) == (1 if split else 0), f"{set_name}: collector Deployments")
    server = servers[0]
    sc = server["spec"]["template"]["spec"]["containers"][0]
    if split:
        check(sc["args"] == ["serve"], f"{set_name}: the API runs `greenkube serve`")
        check(server["spec"]["replicas"] == merged["api"]["replicas"], f"{set_name}: API replicas")
        check(env_of(sc).get("GREENKUBE_READ_ONLY", {}).get("value") == "true", f"{set_name}: the split API is read-only")
        collector = collectors[0]
        check(collector["spec"]["replicas"] == 1, f"{set_name}: one collector")
        check(collector["spec"]["strategy"]["type"] == "Recreate", f"{set_name}: the collector never overlaps")
        cenv = env_of(collector["spec"]["template"]["spec"]["containers"][0])
        check(cenv["GREENKUBE_METHODOLOGY"]["value"] == merged["collector"]["methodology"], f"{set_name}: methodology")
        check(cenv["GREENKUBE_KEEP_RAW"]["value"] == merged["collector"]["retention"]["keepRaw"], f"{set_name}: keep-raw")
        check("GREENKUBE_LISTEN" not in cenv, f"{set_name}: the collector does not listen")
    else:
        check(sc["args"] == ["serve", "--collect"], f"{set_name}: combined runs `greenkube serve --collect`")
        check(server["spec"]["replicas"] == 1, f"{set_name}: combined runs one pod")
        check(server["spec"]["strategy"]["type"] == "Recreate", f"{set_name}: combined never runs two pods at once")
        senv = env_of(sc)
        for only_collect in ("GREENKUBE_METHODOLOGY", "GREENKUBE_KEEP_RAW", "GREENKUBE_DELAY"):
            check(only_collect not in senv, f"{set_name}: {only_collect} set where `serve` does not read it")

    # The image: repository and tag (default: the chart's appVersion).
    tag = merged["image"]["tag"] or CHART_META["appVersion"]
    for d in deployments:
        for c in d["spec"]["template"]["spec"]["containers"]:
            check(c["image"] == f"{merged['image']['repository']}:{tag}", f"{set_name}: image {c['image']}")

    # Ports, probes, Service, Ingress, ServiceMonitor agree.
    port = merged["api"]["port"]
    check(sc["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}], f"{set_name}: container port")
    check(env_of(sc)["GREENKUBE_LISTEN"]["value"] == f"0.0.0.0:{port}", f"{set_name}: GREENKUBE_LISTEN")
    check(sc["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, f"{set_name}: liveness on /healthz")
    check(sc["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, f"{set_name}: readiness on /readyz")
    check({"/healthz", "/readyz", "/metrics"} <= SERVE_ROUTES, "serve answers /healthz, /readyz and /metrics")
    (service,) = by_kind(docs, "Service")
    pod_labels = server["spec"]["template"]["metadata"]["labels"]
    check(all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items()), f"{set_name}: the Service selects the server pods")
    if collectors:
        clabels = collectors[0]["spec"]["template"]["metadata"]["labels"]
        check(not all(clabels.get(k) == v for k, v in service["spec"]["selector"].items()), f"{set_name}: the Service does not select the collector")
    check(service["spec"]["ports"][0]["targetPort"] == "http", f"{set_name}: Service targets the http port")
    for d in deployments:
        sel = d["spec"]["selector"]["matchLabels"]
        tl = d["spec"]["template"]["metadata"]["labels"]
        check(all(tl.get(k) == v for k, v in sel.items()), f"{set_name}: {d['metadata']['name']} selector matches its pods")
    for ing in by_kind(docs, "Ingress"):
        backends = [p["backend"]["service"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
        check(backends and all(b == {"name": service["metadata"]["name"], "port": {"number": service["spec"]["ports"][0]["port"]}} for b in backends), f"{set_name}: Ingress backend is the Service")
        check(ing["spec"]["tls"][0]["secretName"] == "greenkube-tls", f"{set_name}: Ingress TLS")
    for sm in by_kind(docs, "ServiceMonitor"):
        check(all(service["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()), f"{set_name}: ServiceMonitor selects the Service")
        check(sm["spec"]["endpoints"][0]["port"] == "http" and sm["spec"]["endpoints"][0]["path"] == "/metrics", f"{set_name}: ServiceMonitor scrapes /metrics")
        check(sm["metadata"]["labels"].get("release") == "kube-prometheus-stack", f"{set_name}: ServiceMonitor labels")

    # Environment: only variables the CLI reads; secrets only by reference.
    for d in deployments:
        for c in d["spec"]["template"]["spec"]["containers"]:
            for name, e in env_of(c).items():
                if name.startswith("GREENKUBE_"):
                    check(name in CLI_ENV, f"{set_name}: {name} is not read by the CLI (args.rs)")
                if name in ("GREENKUBE_API_KEY", "GREENKUBE_ELECTRICITY_MAPS_TOKEN") or (name == "GREENKUBE_STORE" and merged["store"]["kind"] != "sqlite"):
                    check("secretKeyRef" in e.get("valueFrom", {}) and "value" not in e, f"{set_name}: {name} not from a Secret")
            store = env_of(c)["GREENKUBE_STORE"]
            if merged["store"]["kind"] == "sqlite":
                check(store["value"] == "sqlite:///var/lib/greenkube/greenkube.db", f"{set_name}: SQLite store URL")
    deployments_text = yaml.safe_dump(deployments)
    check("PLANTED" not in deployments_text, f"{set_name}: a secret value in a Deployment")
    secrets = by_kind(docs, "Secret")
    if set_name == "elasticsearch-ingress":
        (secret,) = secrets
        check(secret["stringData"] == {"store-url": "https://gk:PLANTED-ES-PW@es.example.com:9200", "electricity-maps-token": "PLANTED-EM-TOKEN", "api-key": "PLANTED-API-KEY"}, f"{set_name}: the created Secret")
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in sc["env"] if "valueFrom" in e}
        check(refs["GREENKUBE_STORE"] == {"name": secret["metadata"]["name"], "key": "store-url"}, f"{set_name}: store from the created Secret")
        check(refs["GREENKUBE_API_KEY"] == {"name": secret["metadata"]["name"], "key": "api-key"}, f"{set_name}: key from the created Secret")
        check(env_of(sc)["RUST_LOG"] == {"name": "RUST_LOG", "value": "info"}, f"{set_name}: extraEnv")
    if set_name == "postgres-split":
        for d in deployments:
            refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if "valueFrom" in e}
            check(refs["GREENKUBE_STORE"] == {"name": "greenkube-db", "key": "url"}, f"{set_name}: store from the existing Secret")
            check(refs["GREENKUBE_ELECTRICITY_MAPS_TOKEN"] == {"name": "greenkube-tokens", "key": "em"}, f"{set_name}: token from the existing Secret")
        check("GREENKUBE_API_KEY" in env_of(sc) and "GREENKUBE_API_KEY" not in env_of(collectors[0]["spec"]["template"]["spec"]["containers"][0]), f"{set_name}: the API key only where the API is")
        check(env_of(sc)["GREENKUBE_CORS_ORIGINS"]["value"] == "https://grafana.example.com", f"{set_name}: CORS origins")
        check(env_of(sc)["GREENKUBE_CLUSTER"]["value"] == "prod-eu", f"{set_name}: cluster name")

    # Storage.
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in server["spec"]["template"]["spec"]["volumes"]}
    if merged["store"]["kind"] == "sqlite":
        mounts = {m["name"]: m["mountPath"] for m in sc["volumeMounts"]}
        check(mounts.get("data") == "/var/lib/greenkube", f"{set_name}: the data volume on /var/lib/greenkube")
        claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
        if merged["store"]["sqlite"]["persistence"]["existingClaim"]:
            check(claim == "my-claim" and not pvcs, f"{set_name}: the existing claim, no new one")
        else:
            check([p["metadata"]["name"] for p in pvcs] == [claim], f"{set_name}: the PVC the pod mounts")
            check(pvcs[0]["spec"]["resources"]["requests"]["storage"] == "5Gi", f"{set_name}: PVC size")
    else:
        check("data" not in volumes and not pvcs, f"{set_name}: no volume without SQLite")

    # Security context, every container and pod.
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        psc = pod["securityContext"]
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{set_name}: pod runs as non-root")
        check(psc.get("seccompProfile") == {"type": "RuntimeDefault"}, f"{set_name}: pod seccomp RuntimeDefault")
        tmp = [v for v in pod["volumes"] if v["name"] == "tmp"]
        check(tmp == [{"name": "tmp", "emptyDir": {}}], f"{set_name}: an emptyDir for /tmp")
        for c in pod["containers"] + pod.get("initContainers", []):
            csc = c["securityContext"]
            check(csc.get("runAsNonRoot") is True, f"{set_name}: {c['name']} runAsNonRoot")
            check(csc.get("readOnlyRootFilesystem") is True, f"{set_name}: {c['name']} read-only root filesystem")
            check(csc.get("allowPrivilegeEscalation") is False, f"{set_name}: {c['name']} no privilege escalation")
            check(csc.get("privileged", False) is False, f"{set_name}: {c['name']} not privileged")
            check(csc.get("capabilities") == {"drop": ["ALL"]}, f"{set_name}: {c['name']} drops all capabilities, adds none")
            check(csc.get("seccompProfile") == {"type": "RuntimeDefault"}, f"{set_name}: {c['name']} seccomp")
            check({"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], f"{set_name}: /tmp mounted")
            check(c["resources"].get("requests") and c["resources"].get("limits", {}).get("memory"), f"{set_name}: resources")
            check("hostPath" not in json.dumps(pod), f"{set_name}: no hostPath")
        check(not pod.get("hostNetwork") and not pod.get("hostPID"), f"{set_name}: no host namespaces")
        check(pod["serviceAccountName"] == by_kind(docs, "ServiceAccount")[0]["metadata"]["name"], f"{set_name}: the chart's ServiceAccount")
        check(pod["automountServiceAccountToken"] is (not merged["sources"]["noKubernetes"]), f"{set_name}: token mounted only when the Kubernetes API is used")

    # RBAC: only reads, exactly what the collector reads.
    roles = by_kind(docs, "ClusterRole") + by_kind(docs, "Role")
    for role in roles:
        for rule in role["rules"]:
            check(set(rule["verbs"]) <= {"get", "list", "watch"}, f"{set_name}: RBAC verbs {rule['verbs']}")
            check("*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], f"{set_name}: RBAC wildcard")
            check(not {"secrets", "configmaps"} & set(rule["resources"]), f"{set_name}: RBAC reads secrets or configmaps")
        want = COLLECTOR_RULES + (DISCOVERY_RULES if merged["rbac"]["discovery"] else [])
        check(role["rules"] == want, f"{set_name}: ClusterRole rules {role['rules']}")
    for binding in by_kind(docs, "ClusterRoleBinding"):
        check(binding["roleRef"]["name"] == roles[0]["metadata"]["name"], f"{set_name}: the binding's role")
        check(binding["subjects"] == [{"kind": "ServiceAccount", "name": by_kind(docs, "ServiceAccount")[0]["metadata"]["name"], "namespace": namespace}], f"{set_name}: the binding's subject")
    check(bool(roles) == (not merged["sources"]["noKubernetes"]), f"{set_name}: RBAC exactly when the Kubernetes API is used")


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def helm_merge(values: dict) -> dict:
    return deep_merge(DEFAULT_VALUES, values)


# ---------------------------------------------------------------- 3. Kubernetes schemas

# kubernetes-validate has the built-in kinds only. The ServiceMonitor is checked against the
# fields of the Prometheus Operator's CRD (monitoring.coreos.com/v1) that the chart writes, with
# unknown fields refused.
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {"type": "object", "additionalProperties": False, "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "namespaceSelector": {"type": "object", "additionalProperties": False, "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}, "any": {"type": "boolean"}}},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                        },
                    },
                },
            },
        },
    },
}


def validate_objects(set_name: str, docs: list[dict]) -> None:
    for d in docs:
        obj = strip(d)
        label = f"{set_name}: {obj['kind']} {obj['metadata']['name']}"
        if obj["apiVersion"] == "monitoring.coreos.com/v1":
            try:
                jsonschema.validate(obj, SERVICE_MONITOR_SCHEMA)
                check(True, label)
            except jsonschema.ValidationError as e:
                check(False, f"{label}: {e.message}")
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
                check(True, label)
            except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
                check(False, f"{label} against Kubernetes {version}: {type(e).__name__} {str(e).splitlines()[0] if str(e) else ''}")


# ---------------------------------------------------------------- 5. the API emulator


class Kube:
    """Plain HTTP to the Kubernetes API emulator."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.discovered: dict[str, dict] = {}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"content-type": "application/json", "authorization": "Bearer kmock-test-token"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """(plural, namespaced) of a kind, from the server's API discovery."""
        if api_version not in self.discovered:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, body = self.call("GET", path)
            self.discovered[api_version] = body if status == 200 else {"resources": []}
        for r in self.discovered[api_version].get("resources", []):
            if r["kind"] == kind and "/" not in r["name"]:
                return r["name"], r["namespaced"]
        return None

    def collection(self, obj: dict) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        found = self.resource(api_version, kind)
        if found is None and (api_version, kind) == ("monitoring.coreos.com/v1", "ServiceMonitor"):
            # A CRD's kind: served by a cluster that has the Prometheus Operator, not listed in
            # the emulator's bundled discovery. Its path, as the CRD defines it.
            found = ("servicemonitors", True)
        if found is None:
            raise LookupError(f"the API server does not serve {kind} in {api_version}")
        plural, namespaced = found
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            return f"{prefix}/namespaces/{obj['metadata']['namespace']}/{plural}"
        check("namespace" not in obj["metadata"], f"cluster-scoped {kind} has no namespace")
        return f"{prefix}/{plural}"


def apply_and_read_back(kube: Kube, set_name: str, docs: list[dict]) -> None:
    created: list[str] = []
    try:
        for d in docs:
            obj = strip(d)
            label = f"{set_name}: {obj['kind']} {obj['metadata']['name']}"
            try:
                collection = kube.collection(obj)
            except LookupError as e:
                check(False, f"{label}: {e}")
                continue
            body = copy.deepcopy(obj)
            # The emulator needs a resourceVersion on created objects (docs/services.md).
            body["metadata"]["resourceVersion"] = "1"
            status, answer = kube.call("POST", collection, body)
            check(status in (200, 201), f"{label}: POST {collection} answered {status} {answer.get('message', '')}")
            if status not in (200, 201):
                continue
            path = f"{collection}/{obj['metadata']['name']}"
            created.append(path)
            status, back = kube.call("GET", path)
            check(status == 200, f"{label}: GET {path} answered {status}")
            back.get("metadata", {}).pop("resourceVersion", None)
            check(back == obj, f"{label}: read back differs")
            status, listed = kube.call("GET", collection)
            names = [i["metadata"]["name"] for i in listed.get("items", []) if i.get("metadata", {}).get("namespace") == obj["metadata"].get("namespace")]
            check(status == 200 and obj["metadata"]["name"] in names, f"{label}: not in the LIST of {collection}")
            status, _ = kube.call("POST", collection, body)
            check(status == 409, f"{label}: a second POST answered {status}, not 409 (already exists)")
    finally:
        for path in created:
            status, _ = kube.call("DELETE", path)
            check(status == 200, f"{set_name}: DELETE {path} answered {status}")
            status, _ = kube.call("GET", path)
            check(status == 404, f"{set_name}: {path} still there after DELETE")


# ---------------------------------------------------------------- 4. refused values

REFUSED = [
    ({"store": {"kind": "mysql"}}, ["/store/kind", "value must be one of 'sqlite', 'postgres', 'elasticsearch'"]),
    ({"api": {"replicas": 2}}, ["/api/replicas", "value must be 1"]),
    ({"mode": "split"}, ["/mode", "value must be 'combined'"]),
    ({"mode": "both"}, ["/mode", "value must be one of 'combined', 'split'"]),
    ({"store": {"kind": "postgres"}}, ["/store/existingSecret", "/store/url", "minLength"]),
    ({"store": {"kind": "postgres", "url": "https://es:9200"}}, ["/store/url", "does not match pattern"]),
    ({"replicas": 2}, ["additional properties 'replicas' not allowed"]),
    ({"securityContext": {"readOnlyRootFilesystem": False}}, ["/securityContext/readOnlyRootFilesystem", "value must be true"]),
    ({"securityContext": {"runAsNonRoot": False}}, ["/securityContext/runAsNonRoot", "value must be true"]),
    ({"podSecurityContext": {"runAsUser": 0}}, ["/podSecurityContext/runAsUser", "minimum"]),
    ({"step": "5 minutes"}, ["/step", "does not match pattern"]),
    ({"collector": {"methodology": "fast"}}, ["/collector/methodology", "value must be one of 'full', 'classic'"]),
    ({"ingress": {"enabled": True, "hosts": []}}, ["/ingress/hosts", "minItems"]),
    ({"image": {"pullPolicy": "Sometimes"}}, ["/image/pullPolicy"]),
]

# The templates' own refusals (for --skip-schema-validation), through helm lint.
FAILED_TEMPLATES = [
    ({"mode": "split"}, "store.kind=sqlite needs mode=combined"),
    ({"api": {"replicas": 3}}, "api.replicas=3 with mode=combined"),
    ({"store": {"kind": "elasticsearch"}}, "store.kind=elasticsearch needs its URL"),
]


def check_refusals(chart: helm.Chart) -> None:
    for values, expected in REFUSED:
        label = f"refused {json.dumps(values)}"
        try:
            chart.render(values, name="gk", namespace="greenkube")
            check(False, f"{label}: rendered")
            continue
        except helm.HelmError as e:
            message = str(e)
        check("values don't meet the specifications of the schema" in message, f"{label}: not refused by the schema: {message[:200]}")
        for part in expected:
            check(part in message, f"{label}: message lacks {part!r}: {message}")
        print(f"   {label}: {' '.join(message.split()[-12:])}")
    # A copy of the chart without its schema renders the templates with the values as given.
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "greenkube"
        shutil.copytree(CHART, bare)
        (bare / "values.schema.json").unlink()
        with helm.Chart.load(str(bare)) as unchecked:
            for values, expected in FAILED_TEMPLATES:
                label = f"template fail for {json.dumps(values)}"
                try:
                    unchecked.render(values, name="gk", namespace="greenkube")
                    check(False, f"{label}: rendered")
                except helm.HelmRenderError as e:
                    check(expected in str(e), f"{label}: {e}")
                    print(f"   {label}: {str(e)[:150]}...")


# ---------------------------------------------------------------- README "Installing in a cluster"


def check_readme_installs(chart: helm.Chart) -> None:
    readme = (ROOT / "README.md").read_text()
    part = readme[readme.index("## Installing in a cluster"):]
    part = part[: part.index("\n## ", 5)]
    files = {}
    for block in re.findall(r"```yaml\n(.*?)```", part, re.S):
        first = block.splitlines()[0]
        if first.startswith("# ") and first.endswith(".yaml"):
            files[first[2:]] = yaml.safe_load(block)
    commands = [c.replace("\\\n", " ") for c in re.findall(r"```sh\n(.*?)```", part, re.S)]
    installs = [line for c in commands for line in c.splitlines() if line.startswith("helm install greenkube charts/greenkube")]
    check(len(installs) == 3, f"README: three helm install commands, found {len(installs)}")
    for line in installs:
        words = line.split()
        values: dict = {}
        for flag, arg in zip(words, words[1:]):
            if flag == "--set":
                values = deep_merge(values, helm.parse_set_string(arg))
            elif flag == "-f":
                check(arg in files, f"README: {arg} is shown")
                values = deep_merge(values, files.get(arg, {}))
        try:
            chart.validate_schema(values)
            out = chart.render(values, name="greenkube", namespace="greenkube")
            check(True, line)
        except helm.HelmError as e:
            check(False, f"README command refused: {line}: {e}")
            continue
        notes = out["greenkube/templates/NOTES.txt"]
        split = values.get("mode") == "split"
        for shown in ("rollout status deployment/greenkube" + ("-api" if split else ""), "logs deployment/greenkube" + ("-collector" if split else ""), "port-forward service/greenkube 8000:8000"):
            check(shown in notes, f"NOTES.txt for `{line}` says {shown!r}, as the README does")
            check(shown.split(" ", 1)[1].replace("-api", "").replace("-collector", "") in part, f"README shows {shown!r}")


# ---------------------------------------------------------------- the raw manifest


def check_example_manifest() -> None:
    path = ROOT / "examples" / "kubernetes" / "greenkube-collect.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for d in docs:
        d["__template"] = str(path)
    validate_objects("examples/kubernetes", docs)
    (role,) = by_kind(docs, "ClusterRole")
    check(role["rules"] == COLLECTOR_RULES + DISCOVERY_RULES, f"the example's RBAC is the chart's: {role['rules']}")
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    check(pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == DEFAULT_VALUES["podSecurityContext"]["runAsUser"], "the example runs as the chart's user")
    for c in pod["containers"]:
        check(c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["allowPrivilegeEscalation"] is False, "the example's container is locked down")
        for e in c["env"]:
            check(e["name"] in CLI_ENV, f"the example's {e['name']} is read by the CLI")


# ---------------------------------------------------------------- 6. the Dockerfile


def dockerfile_stages(text: str) -> list[dict]:
    text = re.sub(r"\\\n", " ", text)
    stages: list[dict] = []
    global_args = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"image": m.group(1), "name": m.group(2), "lines": []})
        elif not stages:
            if instr == "ARG":
                k, _, v = rest.partition("=")
                global_args[k] = v
        else:
            stages[-1]["lines"].append((instr, rest.strip()))
    stages.append({"image": None, "name": "__args__", "lines": list(global_args.items())})
    return stages


def check_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    *stages, args = dockerfile_stages(text)
    global_args = dict(args["lines"])
    build = next(s for s in stages if s["name"] == "build")
    final = stages[-1]

    # The build stage: Rust new enough, Node.js for the dashboard, the test command's build.
    m = re.match(r"rust:(\d+)\.(\d+)(?:\.\d+)?-(bookworm|slim-bookworm)$", build["image"])
    check(bool(m), f"Dockerfile: build stage base {build['image']}")
    rust_version = tuple(int(x) for x in re.search(r'rust-version = "(\d+)\.(\d+)"', (ROOT / "Cargo.toml").read_text()).groups())
    check(m is not None and (int(m.group(1)), int(m.group(2))) >= rust_version, "Dockerfile: Rust at least the workspace's rust-version")
    node = next((s for s in stages if s["image"].startswith("node:")), None)
    check(node is not None and int(re.match(r"node:(\d+)", node["image"]).group(1)) >= 22, "Dockerfile: Node.js 22 (the dashboard needs 20.19 or later)")
    runs = " ".join(rest for instr, rest in build["lines"] if instr == "RUN")
    cargo = re.search(r"cargo build([^&;]*)", runs)
    check(cargo is not None, "Dockerfile: a cargo build in the build stage")
    docker_flags = set(cargo.group(1).split()) if cargo else set()
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    test_build = re.search(r"^cargo build(.*-p greenkube-cli.*)$", test_sh, re.M)
    check(test_build is not None, "scripts/test.sh has the release build of greenkube-cli")
    test_flags = set(test_build.group(1).split()) - {"--quiet"} if test_build else set()
    check(docker_flags == test_flags, f"Dockerfile's cargo build {sorted(docker_flags)} is the test command's {sorted(test_flags)}")
    check({"--release", "--locked", "-p", "greenkube-cli"} <= docker_flags, "Dockerfile: --release --locked -p greenkube-cli")
    readme = (ROOT / "README.md").read_text()
    check("cargo run --release -p greenkube-cli" in readme, "README builds the release greenkube-cli")
    built = re.search(r"docker build -t REGISTRY/greenkube:TAG(?: --build-arg VERSION=(\S+))? \.", readme)
    check(built is not None, "README: docker build -t REGISTRY/greenkube:TAG .")
    check(built is not None and built.group(1) in (None, WORKSPACE_VERSION), "README: the VERSION build argument is the workspace version")
    ci = (ROOT / ".ci" / "run").read_text()
    env = " ".join(rest for instr, rest in build["lines"] if instr == "ENV")
    for var in re.findall(r'export (CARGO_[A-Z_]+)=\"\$\{\1:-([^}]*)\}\"', ci):
        name, value = var
        if name == "CARGO_INCREMENTAL":
            check(f"{name}={value}" in env, f"Dockerfile: {name}={value} as in .ci/run")
    check("GREENKUBE_DASHBOARD" not in text.replace("# ", ""), "Dockerfile: the dashboard is built (no GREENKUBE_DASHBOARD=skip)")

    # The runtime stage: small, non-root, labelled with the version.
    check(final["image"].startswith("gcr.io/distroless/cc-debian12") or final["image"].startswith("debian:bookworm-slim"), f"Dockerfile: runtime base {final['image']}")
    users = [rest for instr, rest in final["lines"] if instr == "USER"]
    check(len(users) == 1, "Dockerfile: the runtime stage names its USER")
    uid = users[-1].split(":")[0] if users else "0"
    check(uid.isdigit() and int(uid) != 0, f"Dockerfile: runtime user {uid} is numeric and not root")
    check(int(uid) == DEFAULT_VALUES["podSecurityContext"]["runAsUser"], "Dockerfile user is the chart's runAsUser")
    labels = " ".join(rest for instr, rest in final["lines"] if instr == "LABEL")
    check('org.opencontainers.image.version="${VERSION}"' in labels, "Dockerfile: OCI version label from the VERSION build argument")
    repo = re.search(r'^repository = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    check(f'org.opencontainers.image.source="{repo}"' in labels, "Dockerfile: OCI source label is the workspace's repository")
    check(("ARG", "VERSION") in final["lines"], "Dockerfile: the runtime stage takes ARG VERSION")
    check(global_args.get("VERSION") == WORKSPACE_VERSION == CHART_META["appVersion"], f"Dockerfile VERSION {global_args.get('VERSION')}, workspace {WORKSPACE_VERSION} and chart appVersion {CHART_META['appVersion']} agree")

    # What runs, and where it listens: the chart's defaults.
    entry = [json.loads(rest) for instr, rest in final["lines"] if instr == "ENTRYPOINT"]
    cmd = [json.loads(rest) for instr, rest in final["lines"] if instr == "CMD"]
    check(entry == [["greenkube"]], f"Dockerfile: ENTRYPOINT {entry}")
    check(cmd == [["serve", "--collect"]], f"Dockerfile: CMD {cmd} is the chart's combined mode")
    exposed = [rest for instr, rest in final["lines"] if instr == "EXPOSE"]
    port = int(CLI_LISTEN_DEFAULT.rsplit(":", 1)[1])
    check(exposed == [str(port)], f"Dockerfile EXPOSE {exposed}, CLI default port {port}")
    check(port == DEFAULT_VALUES["api"]["port"] == DEFAULT_VALUES["service"]["port"], "the chart's port is the CLI's default port")
    envs = " ".join(rest for instr, rest in final["lines"] if instr == "ENV")
    check(f"GREENKUBE_LISTEN=0.0.0.0:{port}" in envs, "Dockerfile: listens on every interface of the container, on the CLI's port")
    check("GREENKUBE_STORE=sqlite:///var/lib/greenkube/greenkube.db" in envs, "Dockerfile: the SQLite store where the chart mounts its volume")
    for name in re.findall(r"(GREENKUBE_[A-Z_]+)=", envs):
        check(name in CLI_ENV, f"Dockerfile: {name} is read by the CLI")
    check(any(instr == "COPY" and "/var/lib/greenkube" in rest and f"--chown={uid}:" in rest for instr, rest in final["lines"]), "Dockerfile: /var/lib/greenkube belongs to the runtime user")

    # .dockerignore keeps what the build needs.
    ignore = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatch(p, pat) or (pat.startswith("**/") and fnmatch.fnmatch(parts[j], pat[3:])) for pat in ignore for j, p in enumerate(prefixes))

    members = re.search(r"members = \[(.*?)\]", (ROOT / "Cargo.toml").read_text(), re.S).group(1)
    needed = ["Cargo.toml", "Cargo.lock", "data/instance_types.csv", "greenkube-cli/build.rs", "greenkube-cli/dashboard/package-lock.json", "greenkube-cli/dashboard/src", "greenkube-cli/dashboard/index.html"]
    needed += [f"{m}/Cargo.toml" for m in re.findall(r'"([^"]+)"', members)]
    for path in needed:
        check((ROOT / path).exists(), f"{path} exists")
        check(not ignored(path), f".dockerignore leaves out {path}, which the build needs")
    for path in ["target/release/greenkube", "greenkube-cli/dashboard/node_modules/x", ".git/HEAD", "greenkube.db"]:
        check(ignored(path), f".dockerignore sends {path}")


# ---------------------------------------------------------------- main


def main() -> int:
    started = time.monotonic()
    kube_url = os.environ.get("GREENKUBE_TEST_KUBE_URL")
    if not kube_url:
        print("GREENKUBE_TEST_KUBE_URL is not set (scripts/test-chart.sh starts the emulator)", file=sys.stderr)
        return 2
    kube = Kube(kube_url)
    print(f"Helm SDK {helm.helm_sdk_version()} (helm-python-sdk {metadata.version('helm-python-sdk')}), kubernetes-validate {metadata.version('kubernetes-validate')}, emulator {kube_url}")
    with helm.Chart.load(str(CHART)) as chart:
        check(chart.name == "greenkube" and chart.metadata["appVersion"] == WORKSPACE_VERSION, "Chart.yaml: name and appVersion (the workspace version)")
        check(chart.schema is not None and chart.schema.get("$schema") == "http://json-schema.org/draft-07/schema#", "values.schema.json is draft-07")
        for set_name, values in SETS.items():
            section(f"value set {set_name}")
            for kube_version in ("v1.30.0", "v1.35.0"):
                report = helm.lint(str(CHART), values, strict=True, kube_version=kube_version, namespace="greenkube")
                bad = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
                check(not bad, f"{set_name}: helm lint --strict (Kubernetes {kube_version}): {bad}")
            namespace = namespace_of(set_name)
            chart.validate_schema(values)
            docs = render(chart, values, namespace=namespace)
            print(f"   rendered {len(docs)} objects: {', '.join(sorted(d['kind'] for d in docs))}")
            check_rendered(set_name, values, docs, namespace)
            validate_objects(set_name, docs)
            apply_and_read_back(kube, set_name, docs)
        section("SQLite without persistence: an emptyDir, and NOTES.txt says the history is lost")
        out = chart.render({"store": {"sqlite": {"persistence": {"enabled": False}}}}, name="gk", namespace="greenkube")
        deployment = yaml.safe_load(out["greenkube/templates/deployment.yaml"])
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        check(volumes["data"] == {"name": "data", "emptyDir": {}}, "emptyDir data volume")
        check("lost" in out["greenkube/templates/NOTES.txt"], "NOTES.txt warns")
        check(not (out.get("greenkube/templates/pvc.yaml") or "").strip(), "no PVC")
        section("README: the helm install commands and values file render")
        check_readme_installs(chart)
        section("bad values are refused")
        check_refusals(chart)
    section("examples/kubernetes/greenkube-collect.yaml")
    check_example_manifest()
    section("Dockerfile")
    check_dockerfile()
    took = time.monotonic() - started
    print(f"chart checks took {took:.1f} s")
    print(f"chart: {PASSED} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
