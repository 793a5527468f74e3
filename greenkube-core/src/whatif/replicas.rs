//! `replicas` and `autoscale`: a workload run with another number of replicas sharing its load.

use std::collections::HashSet;
use std::sync::Arc;

use super::belongs_to;
use super::removal::remove_pods;
use crate::snapshot::{CostEntry, Pod, Snapshot};
use crate::units::{Bytes, Cores, Money};

/// Replicas a HorizontalPodAutoscaler on CPU would run for these pods (`count` of them):
/// `ceil(usage / (mean request × target utilisation))`, between `min_replicas` and `count`.
pub(super) fn autoscaled(
    pods: &[&Pod],
    count: usize,
    target_utilisation: f64,
    min_replicas: u32,
) -> usize {
    let usage: f64 = pods
        .iter()
        .map(|p| p.cpu_usage_cores.map_or(0.0, |c| c.0))
        .sum();
    let requests: Vec<f64> = pods
        .iter()
        .filter_map(|p| p.cpu_request_cores.map(|c| c.0))
        .filter(|r| *r > 0.0)
        .collect();
    if requests.is_empty() {
        return count;
    }
    let per_pod = requests.iter().sum::<f64>() / requests.len() as f64;
    let needed = (usage / (per_pod * target_utilisation)).ceil() as usize;
    needed.clamp((min_replicas as usize).min(count), count)
}

/// Resizes a workload to `replicas(pods, count)` replicas sharing its CPU and memory usage; new
/// replicas are copies placed round-robin on the nodes the workload already uses and cost what
/// its pods cost on average.
pub(super) fn set_replicas(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    replicas: impl FnOnce(&[&Pod], usize) -> usize,
) {
    let mut positions: Vec<usize> = (0..snapshot.pods.len())
        .filter(|&i| belongs_to(&snapshot.pods[i], namespace, kind, name))
        .collect();
    let current = positions.len();
    if current == 0 {
        return;
    }
    positions.sort_by(|&x, &y| snapshot.pods[x].name.cmp(&snapshot.pods[y].name));
    let pods: Vec<&Pod> = positions.iter().map(|&i| &snapshot.pods[i]).collect();
    let wanted = replicas(&pods, current);
    if wanted == current {
        return;
    }
    let sum = |value: &dyn Fn(&Pod) -> Option<f64>| -> Option<f64> {
        let known: Vec<f64> = pods.iter().filter_map(|p| value(p)).collect();
        (!known.is_empty()).then(|| known.iter().sum())
    };
    let cpu = sum(&|p| p.cpu_usage_cores.map(|c| c.0));
    let memory = sum(&|p| p.memory_usage_bytes.map(|b| b.0));
    let names: HashSet<Arc<str>> = pods.iter().map(|p| p.name.clone()).collect();
    let costs: Vec<f64> = snapshot
        .costs
        .iter()
        .filter(|c| c.namespace.as_ref() == namespace && names.contains(&c.pod))
        .map(|c| c.cost.0)
        .collect();
    let mean_cost = (!costs.is_empty()).then(|| costs.iter().sum::<f64>() / costs.len() as f64);
    let templates: Vec<Pod> = pods.iter().map(|p| (*p).clone()).collect();
    if wanted == 0 {
        remove_pods(snapshot, |p| {
            p.namespace.as_ref() == namespace && names.contains(&p.name)
        });
        return;
    }
    let share = |total: Option<f64>| total.map(|t| t / wanted as f64);
    let (cpu_each, memory_each) = (share(cpu), share(memory));
    // Keep the first min(wanted, current) pods, add copies beyond.
    let keep: HashSet<Arc<str>> = templates
        .iter()
        .take(wanted)
        .map(|p| p.name.clone())
        .collect();
    remove_pods(snapshot, |p| {
        p.namespace.as_ref() == namespace && names.contains(&p.name) && !keep.contains(&p.name)
    });
    for pod in snapshot
        .pods
        .iter_mut()
        .filter(|p| p.namespace.as_ref() == namespace && keep.contains(&p.name))
    {
        pod.cpu_usage_cores = cpu_each.map(Cores);
        pod.memory_usage_bytes = memory_each.map(Bytes);
    }
    for copy in current..wanted {
        let template = &templates[copy % current];
        let mut pod = template.clone();
        pod.name = Arc::from(format!("{}~whatif{}", template.name, copy - current + 1));
        pod.cpu_usage_cores = cpu_each.map(Cores);
        pod.memory_usage_bytes = memory_each.map(Bytes);
        if let Some(cost) = mean_cost {
            snapshot.costs.push(CostEntry {
                namespace: pod.namespace.clone(),
                pod: pod.name.clone(),
                cost: Money(cost),
            });
        }
        snapshot.pods.push(pod);
    }
}
