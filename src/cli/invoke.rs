//! `invoke`: exactly the Lambda handler on an event file; its JSON response on stdout. `check`
//! runs the same path on one object ([`run_handler`]).

use super::Output;
use crate::aws::{live_auditor, AwsClients};
use crate::config::Config;
use crate::metrics::EmfOutput;
use anyhow::{bail, Context};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

pub(super) const HELP: &str = "Examples:\n  \
replication-auditor invoke --event events/sqs-s3.json\n  \
replication-auditor invoke --event events/batch-operations-2.0.json --output table\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN(S), AUDITOR_EXTERNAL_ID, AUDITOR_ALERT_TOPIC_ARN, AUDITOR_METRICS_MODE and the rest of the configuration table in docs/reference.md.";

#[derive(Debug, clap::Args)]
pub(super) struct InvokeArgs {
    /// The event, exactly as Lambda would deliver it (see events/).
    #[arg(long)]
    event: PathBuf,
    /// Pretend the invocation has this many milliseconds left, as Lambda's deadline does.
    #[arg(long)]
    deadline_ms: Option<u64>,
    #[arg(long, value_enum, default_value = "json")]
    output: Output,
}

impl InvokeArgs {
    pub(super) async fn run(self, verbose: bool) -> anyhow::Result<ExitCode> {
        let text = std::fs::read_to_string(&self.event)
            .with_context(|| format!("cannot read the event file {}", self.event.display()))?;
        let payload: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", self.event.display()))?;
        let deadline = self
            .deadline_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        run_handler(&payload, deadline, self.output, false, verbose).await
    }
}

/// Runs the handler on `payload` as the CLI does for `invoke` and (`is_check`) `check`.
pub(super) async fn run_handler(
    payload: &Value,
    deadline: Option<Instant>,
    output: Output,
    is_check: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let config = handler_config(payload, deadline, is_check)?;
    let clients = AwsClients::load_checked(&config).await?;
    // The schedule's drift-check input runs what the Lambda runs for it.
    if let Some(request) = crate::doctor::schedule::request(payload) {
        let drift = crate::aws::drift_check::DriftChecker::new(&config, &clients);
        let response = drift.run(&request, EmfOutput::Stderr).await?;
        println!("{}", serde_json::to_string_pretty(&response)?);
        let failing = response["doctor"]
            .as_array()
            .is_some_and(|all| all.iter().any(|b| b["setup_problems"] != 0));
        return Ok(ExitCode::from(if failing { 1 } else { 0 }));
    }
    let auditor = live_auditor(config, clients, EmfOutput::Stderr);
    let report = auditor.handle(payload, deadline).await?;
    refuse_unreachable(&report, verbose)?;
    let not_found = report
        .findings
        .iter()
        .find(|f| f.verdict == crate::audit::Verdict::NotFound);
    if let (true, Some(finding)) = (is_check, not_found) {
        bail!("{}", finding.detail.reason);
    }
    match (output, &report.batch_operations) {
        // `invoke` prints what Lambda answers: for Batch Operations, its response shape.
        (Output::Json, Some(response)) => {
            println!("{}", serde_json::to_string_pretty(response)?)
        }
        (Output::Json, None) => println!("{}", serde_json::to_string_pretty(&report)?),
        (Output::Table, _) => print!("{}", report.to_table()),
    }
    // A manual payload naming what is not there is a wrong input; a Batch Operations task
    // naming it is the job's answer (PermanentFailure), not the command line's.
    // (Something alarming found is the more important answer: it still exits 1.)
    if let (Some(finding), None, false) =
        (not_found, &report.batch_operations, report.is_alarming())
    {
        eprintln!("replication-auditor: {}", finding.detail.reason);
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::from(if report.is_alarming() { 1 } else { 0 }))
}

/// The configuration as the CLI runs the handler with it; says out loud what a deadline within
/// the margin does and, for `check` with hashed keys, the key's hash.
fn handler_config(
    payload: &Value,
    deadline: Option<Instant>,
    is_check: bool,
) -> anyhow::Result<Config> {
    let mut config = Config::from_env()?;
    if let Some(left) = deadline.map(|d| d.saturating_duration_since(Instant::now())) {
        if left <= config.deadline_margin {
            // What a Lambda invocation this close to its deadline does, said out loud.
            eprintln!(
                "replication-auditor: --deadline-ms {} is within the handler's margin of {} ms (AUDITOR_DEADLINE_MARGIN_MS): nothing is audited and every item is handed back, as a Lambda invocation this close to its deadline would; give more than {} ms to audit",
                left.as_millis(),
                config.deadline_margin.as_millis(),
                config.deadline_margin.as_millis()
            );
        }
    }
    // A person checking one object can afford one more HEAD: is the replica what readers of
    // the destination see (not hidden by a later version or a delete marker)?
    config.verify_current_version = is_check;
    config.explain_absence = is_check;
    // With hashed keys, a person holding a key finds its hash here (docs/security.md).
    if let (true, crate::config::LogKeys::Hash, Some(key)) =
        (is_check, config.log_keys, payload["key"].as_str())
    {
        eprintln!(
            "replication-auditor: {key:?} shows as {} in logs and alerts (AUDITOR_LOG_KEYS=hash)",
            config.log_keys.show(key)
        );
    }
    Ok(config)
}

/// An endpoint that does not answer is a setting to fix (exit 2), not a verdict per object.
fn refuse_unreachable(report: &crate::report::Report, verbose: bool) -> anyhow::Result<()> {
    let Some(unreachable) = report
        .findings
        .iter()
        .find(|f| f.detail.cause == Some(crate::audit::ProbeErrorKind::Unreachable))
    else {
        return Ok(());
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .map(|url| format!("{url} (AWS_ENDPOINT_URL)"))
        .unwrap_or_else(|_| "the region's S3 endpoint (AWS_REGION)".to_string());
    bail!(
        "nothing answers at {endpoint}: check the setting{}",
        if verbose {
            format!(" — {}", unreachable.detail.reason)
        } else {
            String::new()
        }
    )
}
