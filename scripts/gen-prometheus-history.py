#!/usr/bin/env python3
"""Deterministic synthetic Prometheus history for the integration tests of the Prometheus usage
source (greenkube-adapters/tests/it/prometheus.rs), as OpenMetrics text for
`promtool tsdb create-blocks-from openmetrics`.

    python3 scripts/gen-prometheus-history.py > history.om

Everything is fixed: two hours from 2024-01-01T00:00:00Z (START, 1704067200), one sample every
15 s (both ends included), no randomness, so the tests can assert exact values. Rates and sizes
are chosen to be exact in binary floating point (0.25, 0.125, 0.0625, ...), so PromQL's
arithmetic gives them back bit for bit.

What the history holds (times are seconds after START):

cAdvisor-like `container_cpu_usage_seconds_total` (counters, value = seconds since the series
began x cores) and `container_memory_working_set_bytes` (gauges):
* default/web-1 on node-a (labels `namespace`, `pod`, `container`, `node`, `instance` = the
  kubelet's address): containers `web` 0.25 cores / 200 MiB and `proxy` 0.125 cores / 50 MiB, plus
  the pause container (`container="POD"`, 0.0625 cores / 1 MiB) and the pod-level cgroup series
  (`container=""`, the sum of all three) that must NOT be counted: expected 0.375 cores, 250 MiB.
* default/web-2 on node-b: `web` 0.5 cores; memory 400 MiB before 3600, 500 MiB from 3600 on.
* default/web-3 with no `node` label, scraped at `instance="10.0.1.12:10250"` (not a node name):
  0.25 cores, 64 MiB, node unknown.
* kube-system/coredns-1 on node-a: `coredns` 0.0625 cores / 32 MiB.
* legacy/old-1, the pre-1.16 cAdvisor label variant (`pod_name`, `container_name`, no `node`,
  `instance` = the node name "node-b"): `app` 1.5 cores / 100 MiB, plus `container_name="POD"` and
  `container_name=""` series that must not be counted.
* batch/job-1 on node-b, samples in [2400, 4200) only: 2 cores, 1 GiB.
* batch/job-2 on node-a, samples in [2550, 3000) only (it starts in the middle of the 5-minute
  window [2400, 2700)): 1 core, 128 MiB.
* a system cgroup (`id="/system.slice/kubelet.service"`, no pod, `container=""`) on node-a.

kube-state-metrics-like series, each exported by two replicas (`instance` ksm-a and
ksm-b), as in a highly available kube-state-metrics:
* `kube_pod_container_status_restarts_total`: default/web-2 `web` 0, 1 from 1800, 2 from 5400;
  kube-system/coredns-1 `coredns` 3 and `metrics` 1 (pod total 4).
* `kube_node_labels`: node-a (`label_node_kubernetes_io_instance_type="m5.large"`,
  `label_topology_kubernetes_io_region="eu-west-3"`, `label_topology_kubernetes_io_zone="eu-west-3a"`,
  `label_eks_amazonaws_com_nodegroup="ng-1"`); node-b (the beta / failure-domain variants:
  `label_beta_kubernetes_io_instance_type="n2-standard-4"`,
  `label_failure_domain_beta_kubernetes_io_region="europe-west1"`,
  `label_failure_domain_beta_kubernetes_io_zone="europe-west1-b"`); node-c (no cloud labels).
* `kube_node_info`: node-b with `provider_id="gce://greenkube-test/europe-west1-b/node-b"`,
  node-c with `provider_id="kind://docker/kind/node-c"`.
* `kube_node_status_capacity{resource,unit}`: node-a cpu 2 cores, memory 8 GiB (plus a `pods`
  resource that is not a capacity we use); node-b through kube-state-metrics v1's
  `kube_node_status_capacity_cpu_cores` 4 and `kube_node_status_capacity_memory_bytes` 16 GiB;
  node-c has none.
"""

import sys

START = 1704067200  # 2024-01-01T00:00:00Z
DURATION = 7200
STEP = 15
MIB = 1024 * 1024
GIB = 1024 * MIB


def times(begin=0, end=DURATION + STEP):
    """Sample times (absolute seconds) for offsets in [begin, end)."""
    return range(START + begin, START + min(end, DURATION + STEP), STEP)


def labels(pairs):
    return ",".join(f'{k}="{v}"' for k, v in pairs)


# (label pairs, cores, bytes or callable(offset) -> bytes, begin, end)
CONTAINERS = []


def container(pairs, cores, memory, begin=0, end=DURATION + STEP):
    CONTAINERS.append((pairs, cores, memory, begin, end))


def modern(ns, pod, c, node=None, instance=None):
    pairs = [("namespace", ns), ("pod", pod), ("container", c)]
    if node is not None:
        pairs.append(("node", node))
    if instance is not None:
        pairs.append(("instance", instance))
    return pairs


def legacy(ns, pod, c, instance):
    return [("namespace", ns), ("pod_name", pod), ("container_name", c), ("instance", instance)]


KUBELET_A = "10.0.1.10:10250"
KUBELET_B = "10.0.1.11:10250"
container(modern("default", "web-1", "web", "node-a", KUBELET_A), 0.25, 200 * MIB)
container(modern("default", "web-1", "proxy", "node-a", KUBELET_A), 0.125, 50 * MIB)
container(modern("default", "web-1", "POD", "node-a", KUBELET_A), 0.0625, 1 * MIB)
container(modern("default", "web-1", "", "node-a", KUBELET_A), 0.4375, 251 * MIB)
container(
    modern("default", "web-2", "web", "node-b", KUBELET_B),
    0.5,
    lambda off: 400 * MIB if off < 3600 else 500 * MIB,
)
container(modern("default", "web-3", "web", None, "10.0.1.12:10250"), 0.25, 64 * MIB)
container(modern("kube-system", "coredns-1", "coredns", "node-a", KUBELET_A), 0.0625, 32 * MIB)
container(legacy("legacy", "old-1", "app", "node-b"), 1.5, 100 * MIB)
container(legacy("legacy", "old-1", "POD", "node-b"), 0.0625, 1 * MIB)
container(legacy("legacy", "old-1", "", "node-b"), 1.5625, 101 * MIB)
container(modern("batch", "job-1", "main", "node-b", KUBELET_B), 2.0, 1 * GIB, 2400, 4200)
container(modern("batch", "job-2", "main", "node-a", KUBELET_A), 1.0, 128 * MIB, 2550, 3000)
container(
    [("id", "/system.slice/kubelet.service"), ("container", ""), ("node", "node-a")],
    0.5,
    300 * MIB,
)

KSM = ("ksm-a", "ksm-b")


def restarts_of(off, changes):
    value = 0
    for at, v in changes:
        if off >= at:
            value = v
    return value


RESTARTS = [
    (("default", "web-2", "web"), [(0, 0), (1800, 1), (5400, 2)]),
    (("kube-system", "coredns-1", "coredns"), [(0, 3)]),
    (("kube-system", "coredns-1", "metrics"), [(0, 1)]),
]

NODE_LABELS = [
    (
        "node-a",
        [
            ("label_eks_amazonaws_com_nodegroup", "ng-1"),
            ("label_node_kubernetes_io_instance_type", "m5.large"),
            ("label_topology_kubernetes_io_region", "eu-west-3"),
            ("label_topology_kubernetes_io_zone", "eu-west-3a"),
        ],
    ),
    (
        "node-b",
        [
            ("label_beta_kubernetes_io_instance_type", "n2-standard-4"),
            ("label_failure_domain_beta_kubernetes_io_region", "europe-west1"),
            ("label_failure_domain_beta_kubernetes_io_zone", "europe-west1-b"),
        ],
    ),
    ("node-c", [("label_kubernetes_io_hostname", "node-c")]),
]

NODE_INFO = [
    ("node-b", "gce://greenkube-test/europe-west1-b/node-b"),
    ("node-c", "kind://docker/kind/node-c"),
]


def number(v):
    """OpenMetrics number: integers without a fraction, floats in their shortest exact form."""
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def main():
    out = []
    emit = out.append

    emit("# TYPE container_cpu_usage_seconds counter")
    for pairs, cores, _memory, begin, end in CONTAINERS:
        first = START + begin
        for ts in times(begin, end):
            emit(f"container_cpu_usage_seconds_total{{{labels(pairs)}}} {number((ts - first) * cores)} {ts}")

    emit("# TYPE container_memory_working_set_bytes gauge")
    for pairs, _cores, memory, begin, end in CONTAINERS:
        for ts in times(begin, end):
            value = memory(ts - START) if callable(memory) else memory
            emit(f"container_memory_working_set_bytes{{{labels(pairs)}}} {number(value)} {ts}")

    emit("# TYPE kube_pod_container_status_restarts counter")
    for (ns, pod, c), changes in RESTARTS:
        for replica in KSM:
            pairs = [("namespace", ns), ("pod", pod), ("container", c), ("instance", replica), ("job", "kube-state-metrics")]
            for ts in times():
                emit(f"kube_pod_container_status_restarts_total{{{labels(pairs)}}} {restarts_of(ts - START, changes)} {ts}")

    emit("# TYPE kube_node_labels gauge")
    for node, extra in NODE_LABELS:
        for replica in KSM:
            pairs = [("node", node)] + extra + [("instance", replica)]
            for ts in times():
                emit(f"kube_node_labels{{{labels(pairs)}}} 1 {ts}")

    emit("# TYPE kube_node_info gauge")
    for node, provider_id in NODE_INFO:
        pairs = [("node", node), ("provider_id", provider_id), ("instance", "ksm-a")]
        for ts in times():
            emit(f"kube_node_info{{{labels(pairs)}}} 1 {ts}")

    emit("# TYPE kube_node_status_capacity gauge")
    for resource, unit, value in (("cpu", "core", 2), ("memory", "byte", 8 * GIB), ("pods", "integer", 110)):
        pairs = [("node", "node-a"), ("resource", resource), ("unit", unit), ("instance", "ksm-a")]
        for ts in times():
            emit(f"kube_node_status_capacity{{{labels(pairs)}}} {value} {ts}")

    for name, value in (("kube_node_status_capacity_cpu_cores", 4), ("kube_node_status_capacity_memory_bytes", 16 * GIB)):
        emit(f"# TYPE {name} gauge")
        for ts in times():
            emit(f'{name}{{node="node-b",instance="ksm-a"}} {value} {ts}')

    emit("# EOF")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
