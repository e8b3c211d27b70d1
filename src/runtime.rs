//! How the binary starts: the Lambda runtime when `AWS_LAMBDA_RUNTIME_API` is set (inside
//! Lambda), the CLI otherwise. Both build the same handler; logs are JSON on stderr.

use crate::aws::{live_auditor, AwsClients};
use crate::config::Config;
use crate::handler::EmfOutput;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const DEFAULT_LOG_FILTER: &str =
    "info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_sts=warn,lambda_runtime=warn";

pub fn main() -> ExitCode {
    let (filter, filter_problem) = log_filter(std::env::var("RUST_LOG").ok());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_ansi(false)
                .with_writer(std::io::stderr),
        )
        .with(filter)
        .init();
    if let Some(problem) = filter_problem {
        tracing::warn!(problem = %problem, "RUST_LOG not understood; using the default log levels");
    }
    // One thread: the work is waiting on HTTP, a Lambda at 128 MB has a fraction of one vCPU,
    // and a single-threaded scheduler costs less CPU per request than work stealing.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("replication-auditor: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        runtime.block_on(serve_lambda())
    } else {
        runtime.block_on(crate::cli::run(std::env::args_os()))
    }
}

/// `RUST_LOG` as `level` and `target=level` pairs (e.g. `debug,aws_config=info`).
fn log_filter(rust_log: Option<String>) -> (Targets, Option<String>) {
    let default = || {
        DEFAULT_LOG_FILTER
            .parse::<Targets>()
            .expect("the default log filter parses")
    };
    match rust_log.filter(|value| !value.trim().is_empty()) {
        None => (default(), None),
        Some(value) => match value.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(error) => (default(), Some(format!("{value:?}: {error}"))),
        },
    }
}

async fn serve_lambda() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "invalid configuration; the function cannot start");
            return ExitCode::from(2);
        }
    };
    let clients = AwsClients::load(&config).await;
    let drift = Arc::new(DriftCheckSinks::new(&config, &clients));
    let auditor = Arc::new(live_auditor(config, clients, EmfOutput::Stdout));
    let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let auditor = Arc::clone(&auditor);
        let drift = Arc::clone(&drift);
        async move {
            if let Some(request) = crate::doctor::schedule::request(&event.payload) {
                return drift.run(&request, EmfOutput::Stdout).await;
            }
            let deadline = deadline_instant(event.context.deadline);
            let report = auditor.handle(&event.payload, Some(deadline)).await?;
            Ok::<_, crate::handler::HandlerError>(
                serde_json::to_value(report).unwrap_or(Value::Null),
            )
        }
    }))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "the Lambda runtime loop stopped");
            ExitCode::FAILURE
        }
    }
}

/// What the scheduled drift check needs, built once beside the auditor (same clients).
pub struct DriftCheckSinks {
    config: Config,
    metrics: crate::aws::cloudwatch::CloudWatchMetrics,
    alerts: crate::aws::alerts::SnsAlerts,
}

impl DriftCheckSinks {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        Self {
            config: config.clone(),
            metrics: crate::aws::cloudwatch::CloudWatchMetrics::new(clients.cloudwatch.clone()),
            alerts: crate::aws::alerts::SnsAlerts::new(clients.sns.clone()),
        }
    }

    pub async fn run(
        &self,
        request: &crate::doctor::schedule::DriftCheck,
        emf_output: EmfOutput,
    ) -> Result<Value, crate::handler::HandlerError> {
        Ok(crate::aws::doctor::drift_check(
            &self.config,
            request,
            &self.metrics,
            &self.alerts,
            emf_output,
        )
        .await?)
    }
}

/// Lambda's deadline (epoch milliseconds) as a monotonic instant.
fn deadline_instant(deadline_epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms))
}
