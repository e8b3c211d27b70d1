//! How the binary starts: the Lambda runtime when `AWS_LAMBDA_RUNTIME_API` is set (inside
//! Lambda), the CLI otherwise. Both build the same handler; logs are JSON on stderr.

use crate::aws::{live_auditor, AwsClients};
use crate::config::Config;
use crate::metrics::EmfOutput;
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
/// The command line without `-v`: what a person must act on.
/// A person at a terminal sees the auditor's warnings; the SDK's own (a credentials provider
/// of the chain not answering, instance metadata retries) only with -v.
const CLI_LOG_FILTER: &str = "warn,aws_config=error,aws_smithy_runtime=error";

pub fn main() -> ExitCode {
    let inside_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let logging = if inside_lambda {
        LogSetup::lambda(
            std::env::var("AWS_LAMBDA_LOG_LEVEL").ok(),
            std::env::var("AWS_LAMBDA_LOG_FORMAT").ok(),
            std::env::var("RUST_LOG").ok(),
        )
    } else {
        LogSetup::cli(verbosity(std::env::args()), std::env::var("RUST_LOG").ok())
    };
    let problem = logging.problem.clone();
    logging.install();
    if let Some(problem) = problem {
        tracing::warn!(problem = %problem, "log level not understood; using the default log levels");
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
    if inside_lambda {
        runtime.block_on(serve_lambda())
    } else {
        runtime.block_on(crate::cli::run(std::env::args_os()))
    }
}

/// How the process logs: JSON for Lambda (CloudWatch Logs), readable text for a person at a
/// terminal; always on stderr (stdout carries the CLI's report and Lambda's EMF lines).
struct LogSetup {
    filter: Targets,
    json: bool,
    problem: Option<String>,
}

impl LogSetup {
    /// Lambda's advanced logging controls, as `lambda_runtime`'s own tracing setup reads them:
    /// `AWS_LAMBDA_LOG_LEVEL` (the function's application log level) wins over `RUST_LOG`;
    /// `AWS_LAMBDA_LOG_FORMAT=Text` gives plain text, JSON otherwise.
    fn lambda(level: Option<String>, format: Option<String>, rust_log: Option<String>) -> Self {
        let json = !format.is_some_and(|f| f.eq_ignore_ascii_case("text"));
        let level = level.filter(|l| !l.trim().is_empty()).map(|l| {
            // Lambda's levels include FATAL, which tracing calls ERROR.
            let l = l.trim().to_ascii_lowercase();
            let l = if l == "fatal" { "error".to_string() } else { l };
            format!(
                "{l},aws_config=warn,aws_smithy_runtime=warn,aws_sdk_sts=warn,lambda_runtime=warn"
            )
        });
        let (filter, problem) = log_filter(level.or(rust_log), DEFAULT_LOG_FILTER);
        Self {
            filter,
            json,
            problem,
        }
    }

    /// A person at a terminal: warnings and errors only, readable, unless asked for more with
    /// `-v` (info), `-vv` (debug) or `RUST_LOG`.
    fn cli(verbosity: u8, rust_log: Option<String>) -> Self {
        let default = match verbosity {
            0 => CLI_LOG_FILTER,
            1 => DEFAULT_LOG_FILTER,
            _ => "debug,aws_smithy_runtime=info,hyper=info",
        };
        let (filter, problem) = log_filter(rust_log, default);
        Self {
            filter,
            json: false,
            problem,
        }
    }

    fn install(self) {
        let registry = tracing_subscriber::registry().with(self.filter);
        if self.json {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .with_ansi(false)
                        .with_writer(std::io::stderr),
                )
                .init();
        } else {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_target(false)
                        .with_writer(std::io::stderr),
                )
                .init();
        }
    }
}

/// How many `-v` the command line asks for (`-v`, `-vv`, `--verbose`).
fn verbosity(args: impl IntoIterator<Item = String>) -> u8 {
    args.into_iter()
        .skip(1)
        .map(|arg| match arg.as_str() {
            "--verbose" => 1,
            short if short.starts_with("-v") && short[1..].chars().all(|c| c == 'v') => {
                u8::try_from(short.len() - 1).unwrap_or(u8::MAX)
            }
            _ => 0,
        })
        .fold(0u8, u8::saturating_add)
}

/// The SDK's and the HTTP stack's crates log request and response headers at `trace` —
/// an object's user metadata (`x-amz-meta-*`) and credentials headers among them: never
/// below `debug`, whatever `RUST_LOG` asks.
const HEADER_LOGGING_CRATES: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_sdk_s3",
    "aws_sdk_sts",
    "aws_sdk_sns",
    "aws_sdk_iam",
    "aws_sdk_cloudwatch",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// `RUST_LOG` as `level` and `target=level` pairs (e.g. `debug,aws_config=info`).
fn log_filter(rust_log: Option<String>, default_filter: &str) -> (Targets, Option<String>) {
    let default = || {
        default_filter
            .parse::<Targets>()
            .expect("the default log filter parses")
    };
    let (targets, problem) = match rust_log.filter(|value| !value.trim().is_empty()) {
        None => (default(), None),
        Some(value) => match value.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(error) => (default(), Some(format!("{value:?}: {error}"))),
        },
    };
    (cap_header_logging(targets), problem)
}

/// `targets` with every directive for a header-logging crate — the crate itself or any of its
/// modules (`aws_smithy_runtime::client=trace`) — no more verbose than `debug`.
fn cap_header_logging(targets: Targets) -> Targets {
    use tracing_subscriber::filter::LevelFilter;
    let capped_crate = |target: &str| {
        HEADER_LOGGING_CRATES
            .iter()
            .any(|c| target == *c || target.starts_with(&format!("{c}::")))
    };
    let mut rebuilt = Targets::new();
    if let Some(default) = targets.default_level() {
        rebuilt = rebuilt.with_default(default);
    }
    for (target, level) in targets.iter() {
        let level = if capped_crate(target) && level > LevelFilter::DEBUG {
            LevelFilter::DEBUG
        } else {
            level
        };
        rebuilt = rebuilt.with_target(target, level);
    }
    for target in HEADER_LOGGING_CRATES {
        if rebuilt.would_enable(target, &tracing::Level::TRACE) {
            rebuilt = rebuilt.with_target(*target, LevelFilter::DEBUG);
        }
    }
    rebuilt
}

async fn serve_lambda() -> ExitCode {
    let config = match Config::from_env().and_then(Config::inside_lambda) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "invalid configuration; the function cannot start");
            return ExitCode::from(2);
        }
    };
    let clients = AwsClients::load(&config).await;
    let drift = Arc::new(crate::aws::drift_check::DriftChecker::new(
        &config, &clients,
    ));
    let margin = config.deadline_margin;
    let auditor = Arc::new(live_auditor(config, clients, EmfOutput::Stdout));
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let auditor = Arc::clone(&auditor);
        let drift = Arc::clone(&drift);
        let first = Arc::clone(&first);
        async move {
            if let Some(request) = crate::doctor::schedule::request(&event.payload) {
                return Ok::<Value, InvocationError>(drift.run(&request, EmfOutput::Stdout).await?);
            }
            // The function runs in the source account: its own ARN names the owner every
            // source bucket must have (ExpectedBucketOwner), at no cost.
            if let Some(account) = crate::aws::account_of_arn(&event.context.invoked_function_arn) {
                auditor.probe().expect_source_owner(account);
            }
            let deadline = deadline_instant(event.context.deadline);
            if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                warn_if_margin_exceeds_timeout(margin, deadline);
            }
            let report = auditor
                .handle(&event.payload, Some(deadline))
                .await
                .map_err(InvocationError::Handler)?;
            // A response that cannot be serialised fails the invocation (SQS then retries the
            // batch); answering `null` would tell SQS that every message succeeded.
            Ok(report
                .to_response(crate::report::MAX_RESPONSE_BYTES)
                .map_err(crate::handler::HandlerError::Response)?)
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

/// Why an invocation failed: the handler's reasons, or a drift-check input it cannot run.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Handler(#[from] crate::handler::HandlerError),
    #[error(transparent)]
    DriftCheck(#[from] crate::aws::drift_check::DriftCheckError),
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        match error {
            InvocationError::Handler(error) => error.into(),
            InvocationError::DriftCheck(error) => lambda_runtime::Diagnostic {
                error_type: "DriftCheckNotConfigured".into(),
                error_message: error.to_string(),
            },
        }
    }
}

/// The first invocation tells how long the function may run: a deadline margin as long as that
/// leaves no time to audit anything (every object would be handed back, forever).
fn warn_if_margin_exceeds_timeout(margin: Duration, deadline: Instant) {
    let available = deadline.saturating_duration_since(Instant::now());
    if margin >= available {
        tracing::warn!(
            margin_ms = margin.as_millis() as u64,
            invocation_ms = available.as_millis() as u64,
            "AUDITOR_DEADLINE_MARGIN_MS is as long as the function's timeout: no object can be audited; lower it or raise the timeout"
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_never_reaches_the_crates_that_log_headers() {
        let (targets, problem) = log_filter(Some("trace".into()), DEFAULT_LOG_FILTER);
        assert!(problem.is_none());
        assert!(targets.would_enable("s3_replication_auditor", &tracing::Level::TRACE));
        for target in ["aws_smithy_runtime", "aws_sdk_s3", "hyper"] {
            assert!(
                !targets.would_enable(target, &tracing::Level::TRACE),
                "{target}"
            );
            assert!(
                targets.would_enable(target, &tracing::Level::DEBUG),
                "{target}"
            );
        }
        // A module of a capped crate is capped too.
        let (module, _) = log_filter(
            Some("info,aws_smithy_runtime::client=trace,hyper::proto=trace".into()),
            DEFAULT_LOG_FILTER,
        );
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "hyper::proto::h1",
        ] {
            assert!(
                !module.would_enable(target, &tracing::Level::TRACE),
                "{target}"
            );
            assert!(
                module.would_enable(target, &tracing::Level::DEBUG),
                "{target}"
            );
        }
        // A quieter RUST_LOG is not made louder.
        let (warn, _) = log_filter(Some("warn".into()), DEFAULT_LOG_FILTER);
        assert!(!warn.would_enable("aws_smithy_runtime", &tracing::Level::DEBUG));
    }

    #[test]
    fn verbosity_counts_v_flags_anywhere() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(verbosity(args(&["bin", "check", "s3://b/k"])), 0);
        assert_eq!(verbosity(args(&["bin", "-v", "check"])), 1);
        assert_eq!(verbosity(args(&["bin", "check", "-vv"])), 2);
        assert_eq!(verbosity(args(&["bin", "--verbose", "invoke"])), 1);
        assert_eq!(verbosity(args(&["bin", "check", "s3://b/-v"])), 0);
    }

    #[test]
    fn lambda_log_controls_win_over_rust_log_and_text_is_honoured() {
        let text = LogSetup::lambda(
            Some("DEBUG".into()),
            Some("Text".into()),
            Some("error".into()),
        );
        assert!(!text.json);
        assert!(text
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::DEBUG));
        let json = LogSetup::lambda(Some("FATAL".into()), None, None);
        assert!(json.json && json.problem.is_none());
        assert!(!json
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::WARN));
        let default = LogSetup::lambda(None, Some("JSON".into()), None);
        assert!(default
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::INFO));
    }

    #[test]
    fn the_cli_speaks_up_only_for_what_a_person_must_act_on() {
        let quiet = LogSetup::cli(0, None);
        assert!(!quiet.json);
        assert!(!quiet
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::INFO));
        assert!(quiet
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::WARN));
        assert!(LogSetup::cli(1, None)
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::INFO));
        assert!(LogSetup::cli(0, Some("debug".into()))
            .filter
            .would_enable("s3_replication_auditor", &tracing::Level::DEBUG));
    }
}
