//! `remove` (a workload or a whole namespace) and `schedule` (a workload scaled to zero in the
//! same hours every day): pods taken out of the window.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Timelike;

use super::belongs_to;
use crate::snapshot::{Pod, Snapshot};

/// Removes the workload, or the whole namespace when `kind` and `name` are absent.
pub(super) fn remove(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: Option<&str>,
    name: Option<&str>,
) {
    match (kind, name) {
        (Some(kind), Some(name)) => {
            remove_pods(snapshot, |p| belongs_to(p, namespace, kind, name));
        }
        _ => remove_pods(snapshot, |p| p.namespace.as_ref() == namespace),
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
    let hour = snapshot.window_start.hour() as u8;
    let off = if off_from_hour < off_to_hour {
        hour >= off_from_hour && hour < off_to_hour
    } else {
        hour >= off_from_hour || hour < off_to_hour
    };
    if off {
        remove_pods(snapshot, |p| belongs_to(p, namespace, kind, name));
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
