//! The auditor a container builds once: its configuration, the verdict policy, the adapters
//! it audits through, and what it keeps between invocations (rules, alert cool-downs).

use crate::alert;
use crate::audit::rules::ReplicationRules;
use crate::audit::VerdictPolicy;
use crate::config::Config;
use crate::event::EventError;
use crate::metrics::EmfOutput;
use crate::ports::{AlertPublisher, MetricsPublisher, ObjectProbe};
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a bucket's replication rules are trusted before being read again.
pub const RULES_CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("the response could not be serialised: {0}")]
    Response(serde_json::Error),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Event(_) => "UnrecognisedEvent",
            HandlerError::Response(_) => "ResponseNotSerialisable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

pub(super) struct CachedRules {
    pub(super) fetched: Instant,
    pub(super) rules: Option<ReplicationRules>,
}

/// Built once per container; audits every invocation.
pub struct Auditor<P, M, A> {
    pub(super) config: Config,
    pub(super) policy: VerdictPolicy,
    pub(super) probe: P,
    pub(super) metrics: M,
    pub(super) alerts: A,
    pub(super) emf_output: EmfOutput,
    pub(super) rules_cache: Mutex<HashMap<String, CachedRules>>,
    /// Causes this container alerted, held back within the cool-down.
    pub(super) alert_gate: std::sync::Mutex<alert::AlertGate>,
}

impl<P: ObjectProbe, M: MetricsPublisher, A: AlertPublisher> Auditor<P, M, A> {
    pub fn new(config: Config, probe: P, metrics: M, alerts: A, emf_output: EmfOutput) -> Self {
        let alert_gate = std::sync::Mutex::new(alert::AlertGate::new(config.alert_cooldown));
        let policy = VerdictPolicy {
            late_after: chrono::Duration::from_std(config.late_after)
                .unwrap_or(chrono::Duration::seconds(900)),
            alarm_on_unreplicated: config.alarm_on_unreplicated,
        };
        Self {
            config,
            policy,
            probe,
            metrics,
            alerts,
            emf_output,
            rules_cache: Mutex::new(HashMap::new()),
            alert_gate,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The probe (tests count its calls).
    pub fn probe(&self) -> &P {
        &self.probe
    }

    /// The metrics and alert publishers (tests read what was sent).
    pub fn sinks(&self) -> (&M, &A) {
        (&self.metrics, &self.alerts)
    }
}
