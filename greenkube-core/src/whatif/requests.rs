//! `requests`: new CPU and memory requests for a workload's pods. Each pod's cost follows its
//! allocation `max(request, usage)`, split into a CPU and a memory part at OpenCost's default
//! prices.

use std::collections::HashMap;
use std::sync::Arc;

use super::{allocation, belongs_to};
use crate::snapshot::{Pod, Snapshot};
use crate::units::{BYTES_PER_GIB, Bytes, Cores, Money};

/// OpenCost's default on-demand price of a vCPU-hour (USD), used only for the CPU/memory split.
const OPENCOST_CPU_HOUR: f64 = 0.031_611;
/// OpenCost's default on-demand price of a GiB-hour of memory (USD), for the same split.
const OPENCOST_GIB_HOUR: f64 = 0.004_237;

/// Sets the requests given (cores, bytes) on every pod of the workload and scales their cost.
pub(super) fn set_requests(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    cpu_request_cores: Option<f64>,
    memory_request_bytes: Option<f64>,
) {
    let mut factors: HashMap<Arc<str>, f64> = HashMap::new();
    for pod in snapshot
        .pods
        .iter_mut()
        .filter(|p| belongs_to(p, namespace, kind, name))
    {
        let factor = set_pod_requests(pod, cpu_request_cores, memory_request_bytes);
        factors.insert(pod.name.clone(), factor);
    }
    for entry in &mut snapshot.costs {
        if entry.namespace.as_ref() == namespace
            && let Some(factor) = factors.get(&entry.pod)
        {
            entry.cost = Money(entry.cost.0 * factor);
        }
    }
}

/// Sets the requests given on one pod; returns the factor its cost scales by.
pub(super) fn set_pod_requests(
    pod: &mut Pod,
    cpu_request_cores: Option<f64>,
    memory_request_bytes: Option<f64>,
) -> f64 {
    let cpu_usage = pod.cpu_usage_cores.map(|c| c.0);
    let memory_usage = pod.memory_usage_bytes.map(|b| b.0);
    let old_cpu = allocation(pod.cpu_request_cores.map(|c| c.0), cpu_usage);
    let old_memory = allocation(pod.memory_request_bytes.map(|b| b.0), memory_usage);
    if let Some(cores) = cpu_request_cores {
        pod.cpu_request_cores = Some(Cores(cores));
    }
    if let Some(bytes) = memory_request_bytes {
        pod.memory_request_bytes = Some(Bytes(bytes));
    }
    let new_cpu = allocation(pod.cpu_request_cores.map(|c| c.0), cpu_usage);
    let new_memory = allocation(pod.memory_request_bytes.map(|b| b.0), memory_usage);
    let share = cpu_cost_share(old_cpu, (old_memory > 0.0).then_some(old_memory));
    let ratio = |new: f64, old: f64| if old > 0.0 { new / old } else { 1.0 };
    share * ratio(new_cpu, old_cpu) + (1.0 - share) * ratio(new_memory, old_memory)
}

/// Share of a pod's cost that is its CPU part, from OpenCost's default prices.
fn cpu_cost_share(cpu_allocation: f64, memory_allocation_bytes: Option<f64>) -> f64 {
    let cpu = cpu_allocation * OPENCOST_CPU_HOUR;
    let memory = memory_allocation_bytes.map_or(0.0, |b| b / BYTES_PER_GIB * OPENCOST_GIB_HOUR);
    if cpu + memory > 0.0 {
        cpu / (cpu + memory)
    } else {
        0.5
    }
}
