//! The report as it stands while a run is under way, for the Ctrl-C handler and the redactor.
//!
//! The runner calls [`publish`] after each change that matters; the command line registers a
//! [`Subscription`] that keeps the latest copy, so an interrupted run can still write its
//! partial report. Without a subscription, publishing does nothing. One subscription exists
//! at a time, which fits the one run per process of the command line.

use std::sync::Mutex;

use super::Report;

type Subscriber = Box<dyn Fn(&Report) + Send>;

static SUBSCRIBER: Mutex<Option<Subscriber>> = Mutex::new(None);

/// Hands the current state of the report to the subscriber, if there is one.
pub fn publish(report: &Report) {
    let subscriber = SUBSCRIBER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(subscriber) = subscriber.as_ref() {
        subscriber(report);
    }
}

/// Receives every published report until dropped.
#[must_use = "dropping the subscription stops it"]
pub struct Subscription(());

impl Subscription {
    /// Makes `subscriber` receive every published report, replacing an earlier subscriber.
    pub fn start(subscriber: impl Fn(&Report) + Send + 'static) -> Subscription {
        *SUBSCRIBER.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(subscriber));
        Subscription(())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        *SUBSCRIBER.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use std::sync::Arc;

    #[test]
    fn subscriber_sees_published_reports_until_dropped() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let subscription = Subscription::start(move |report| sink.lock().unwrap().push(report.path.clone()));

        let mut report = Report::new("panel", Lang::En);
        report.path.push("warning".to_string());
        publish(&report);
        drop(subscription);
        report.path.push("check-status".to_string());
        publish(&report);

        assert_eq!(*seen.lock().unwrap(), vec![vec!["warning".to_string()]]);
    }
}
