//! The command line: `invoke` runs exactly the Lambda handler on an event file, `check` audits
//! one object. Exit codes: 0 healthy, 1 something alarming found, 2 usage or configuration
//! error (with a message saying what to fix).

use crate::aws::{live_auditor, AwsClients};
use crate::config::Config;
use crate::handler::EmfOutput;
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "replication-auditor",
    version,
    about = "Audits S3 cross-account replication object by object."
)]
struct Cli {
    /// More log lines on stderr: -v for info, -vv for debug (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Json,
    Table,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Lambda handler on a JSON event file; print its JSON response on stdout.
    Invoke {
        /// The event, exactly as Lambda would deliver it (see events/).
        #[arg(long)]
        event: PathBuf,
        /// Pretend the invocation has this many milliseconds left, as Lambda's deadline does.
        #[arg(long)]
        deadline_ms: Option<u64>,
        #[arg(long, value_enum, default_value = "json")]
        output: Output,
    },
    /// Audit one object: s3://BUCKET/KEY (the key as it is, not URL-encoded).
    Check {
        url: String,
        #[arg(long)]
        version_id: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
}

/// Runs the CLI and turns every outcome into an exit code.
pub async fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("replication-auditor: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let is_check = matches!(cli.command, Command::Check { .. });
    let (payload, deadline, output) = match cli.command {
        Command::Invoke {
            event,
            deadline_ms,
            output,
        } => {
            let text = std::fs::read_to_string(&event)
                .with_context(|| format!("cannot read the event file {}", event.display()))?;
            let payload: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", event.display()))?;
            (
                payload,
                deadline_ms.map(|ms| Instant::now() + Duration::from_millis(ms)),
                output,
            )
        }
        Command::Check {
            url,
            version_id,
            output,
        } => {
            let (bucket, key) = parse_s3_url(&url)?;
            (
                json!({"bucket": bucket, "key": key, "version_id": version_id}),
                None,
                output,
            )
        }
    };
    let mut config = Config::from_env()?;
    // A person checking one object can afford one more HEAD: is the replica what readers of
    // the destination see (not hidden by a later version or a delete marker)?
    config.verify_current_version = is_check;
    let clients = AwsClients::load(&config).await;
    let auditor = live_auditor(config, clients, EmfOutput::Stderr);
    let report = auditor.handle(&payload, deadline).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => print!("{}", report.to_table()),
    }
    Ok(ExitCode::from(if report.is_alarming() { 1 } else { 0 }))
}

/// `s3://bucket/key/with/slashes` → (bucket, key).
fn parse_s3_url(url: &str) -> anyhow::Result<(String, String)> {
    let Some(rest) = url.strip_prefix("s3://") else {
        bail!("expected s3://BUCKET/KEY, got {url:?}");
    };
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => bail!("expected s3://BUCKET/KEY with a non-empty bucket and key, got {url:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_at_the_first_slash() {
        assert_eq!(
            parse_s3_url("s3://b/a b/c+d.png").unwrap(),
            ("b".into(), "a b/c+d.png".into())
        );
        assert!(parse_s3_url("s3://b").is_err());
        assert!(parse_s3_url("https://b/k").is_err());
    }
}
