//! `remove` (a workload or a whole namespace) and `schedule` (a workload scaled to zero in the
//! same hours every day): pods taken out of the window.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Timelike, Utc};

use super::belongs_to;
use crate::snapshot::{Pod, Snapshot};

/// Removes the workload, or the whole namespace when `kind` and `name` are absent.
pub(super) fn remove(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: Option<&str>,
    name: Option<&str>,
) {
    remove_pods(snapshot, |p| removes(p, namespace, kind, name));
}

/// True when removing the workload (or the whole namespace when `kind` and `name` are absent)
/// removes this pod.
pub(super) fn removes(pod: &Pod, namespace: &str, kind: Option<&str>, name: Option<&str>) -> bool {
    match (kind, name) {
        (Some(kind), Some(name)) => belongs_to(pod, namespace, kind, name),
        _ => pod.namespace.as_ref() == namespace,
    }
}

/// Removes the workload when the window starts in its off hours: from `off_from_hour` up to
/// `off_to_hour` (UTC, may wrap midnight).
pub(super) fn schedule(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    off_from_hour: u8,
    off_to_hour: u8,
) {
    if off_hours(snapshot.window_start, off_from_hour, off_to_hour) {
        remove_pods(snapshot, |p| belongs_to(p, namespace, kind, name));
    }
}

/// True when a window starting at `start` is in the off hours `off_from_hour` up to
/// `off_to_hour` (UTC, may wrap midnight).
pub(super) fn off_hours(start: DateTime<Utc>, off_from_hour: u8, off_to_hour: u8) -> bool {
    let hour = start.hour() as u8;
    if off_from_hour < off_to_hour {
        hour >= off_from_hour && hour < off_to_hour
    } else {
        hour >= off_from_hour || hour < off_to_hour
    }
}

/// Removes the selected pods and their cost entries.
pub(super) fn remove_pods(snapshot: &mut Snapshot, mut selected: impl FnMut(&Pod) -> bool) {
    let mut removed: HashSet<(Arc<str>, Arc<str>)> = HashSet::new();
    snapshot.pods.retain(|p| {
        if selected(p) {
            removed.insert((p.namespace.clone(), p.name.clone()));
            false
        } else {
            true
        }
    });
    snapshot
        .costs
        .retain(|c| !removed.contains(&(c.namespace.clone(), c.pod.clone())));
}
