//! The nginx master and workers among the processes listening on the port, and what their start
//! times show about the last reload.

use std::time::{Duration, SystemTime};

use crate::process::{ListenerProcess, ProcessError};

/// Largest error of a process start time read from /proc (see [`changed_after`]).
const START_TIME_ERROR: Duration = Duration::from_secs(1);

/// Extra probes while the served chain differs from the file: within [`SETTLE_WINDOW`] of the
/// last reload, and when the nginx processes cannot be seen.
const SETTLE_PROBES_AFTER_RELOAD: usize = 6;
const SETTLE_PROBES_UNKNOWN: usize = 2;
const SETTLE_WINDOW: Duration = Duration::from_secs(5);

/// Returns how many extra probes the check's settle step may make: more right after a reload,
/// none when nginx last reloaded long ago, and a few when the listening processes cannot be seen.
pub(super) fn settle_probes(listeners: &Result<Vec<ListenerProcess>, ProcessError>) -> usize {
    let Some((master, workers)) = listeners
        .as_ref()
        .ok()
        .and_then(|listeners| split_master(listeners))
    else {
        return SETTLE_PROBES_UNKNOWN;
    };
    let age = SystemTime::now()
        .duration_since(last_reload(master, &workers))
        .unwrap_or_default();
    if age < SETTLE_WINDOW {
        SETTLE_PROBES_AFTER_RELOAD
    } else {
        0
    }
}

/// Returns whether a file changed after a process started, beyond the error of /proc start
/// times: they derive from the boot time, which /proc/stat gives in whole seconds, so a start
/// time can read up to one second early.
pub(super) fn changed_after(modified: SystemTime, started: SystemTime) -> bool {
    modified > started + START_TIME_ERROR
}

/// Returns when nginx last loaded its configuration: the start of the newest worker, since a
/// reload keeps the master and starts new workers.
pub(super) fn last_reload(master: &ListenerProcess, workers: &[&ListenerProcess]) -> SystemTime {
    workers
        .iter()
        .map(|worker| worker.started_at)
        .max()
        .unwrap_or(master.started_at)
}

/// Splits listeners into the nginx master (the holder whose parent does not hold the socket)
/// and its workers (its children that hold it).
pub(super) fn split_master(
    listeners: &[ListenerProcess],
) -> Option<(&ListenerProcess, Vec<&ListenerProcess>)> {
    let master = listeners
        .iter()
        .filter(|holder| !listeners.iter().any(|other| other.pid == holder.ppid))
        .min_by_key(|holder| (holder.started_at, holder.pid))?;
    let workers = listeners
        .iter()
        .filter(|holder| holder.ppid == master.pid)
        .collect();
    Some((master, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(pid: i32, ppid: i32, started_secs: u64) -> ListenerProcess {
        ListenerProcess {
            pid,
            ppid,
            command: "nginx".to_string(),
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(started_secs),
        }
    }

    #[test]
    fn newest_worker_is_last_reload() {
        let listeners = vec![
            listener(10, 1, 100),
            listener(11, 10, 100),
            listener(25, 10, 500),
            listener(26, 10, 400),
        ];

        let (master, workers) = split_master(&listeners).expect("a master");

        assert_eq!(master.pid, 10);
        assert_eq!(workers.len(), 3);
        assert_eq!(
            last_reload(master, &workers),
            SystemTime::UNIX_EPOCH + Duration::from_secs(500)
        );
    }

    #[test]
    fn master_alone_is_last_reload() {
        let listeners = vec![listener(10, 1, 100)];

        let (master, workers) = split_master(&listeners).expect("a master");

        assert_eq!(
            last_reload(master, &workers),
            SystemTime::UNIX_EPOCH + Duration::from_secs(100)
        );
    }

    #[test]
    fn change_within_start_time_error_is_not_after() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);

        assert!(!changed_after(
            started + Duration::from_millis(900),
            started
        ));
        assert!(changed_after(
            started + Duration::from_millis(1100),
            started
        ));
    }
}
