//! The command line, one module per subcommand — each an `Args` struct with its `run`; this
//! file only parses and dispatches: `invoke` runs exactly the Lambda handler on an event file,
//! `check` audits one object, `doctor` checks a whole replication setup (live, or `--offline` on
//! documents), `reconcile` audits existing objects from two S3 Inventory reports.
//! Exit codes: 0 healthy, 1 something alarming found, 2 usage or configuration error (with a
//! message saying what to fix).

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

mod args;
mod check;
mod doctor;
mod invoke;
mod reconcile;

pub(crate) use args::{bucket_name_problem, Output};

/// Exit codes, the same for every subcommand.
const EXIT_CODES: &str = "Exit codes: 0 healthy, 1 something alarming found, 2 a usage or configuration error (the message says what to fix).";

/// The AWS environment every subcommand that calls AWS reads (the SDK's own variables).
const AWS_ENV: &str = "AWS environment: AWS_REGION, credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE), AWS_ENDPOINT_URL for a local emulator.";

const ROOT_HELP: &str = "Exit codes: 0 healthy, 1 something alarming found, 2 a usage or configuration error.\n\
Configuration: AUDITOR_* variables (docs/reference.md, \"Configuration\"); the SDK's AWS_REGION, credentials, AWS_ENDPOINT_URL.\n\
Verdicts and what each means: docs/verdicts.md.";

#[derive(Debug, Parser)]
#[command(
    name = "replication-auditor",
    version,
    about = "Audits S3 cross-account replication object by object.",
    after_help = ROOT_HELP
)]
struct Cli {
    /// More log lines on stderr: -v for info, -vv for debug (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Lambda handler on a JSON event file; print its JSON response on stdout.
    #[command(after_help = concat_help(invoke::HELP))]
    Invoke(invoke::InvokeArgs),
    /// Audit one object: s3://BUCKET/KEY (the key as it is, not URL-encoded).
    #[command(after_help = concat_help(check::HELP))]
    Check(check::CheckArgs),
    /// Check a replication setup in both accounts (or, with --offline, the documents about to
    /// be pasted): one PASS / WARN / FAIL line per check, with the fix.
    #[command(after_help = concat_help(doctor::HELP))]
    Doctor(doctor::DoctorArgs),
    /// Reconcile S3 Inventory reports of the source and destination buckets: a verdict per
    /// object version, counts, and a re-drive manifest for S3 Batch Replication.
    #[command(after_help = concat_help(reconcile::HELP))]
    Reconcile(reconcile::ReconcileArgs),
}

/// A subcommand's help: its own text, then the exit codes and the AWS environment.
fn concat_help(text: &'static str) -> String {
    format!("{text}\n\n{EXIT_CODES}\n{AWS_ENV}")
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
    let verbose = cli.verbose > 0;
    match execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            match error.downcast_ref::<crate::aws::SetupError>() {
                // One line naming the setting; its causes with -v.
                Some(setup) if !verbose => eprintln!("replication-auditor: {setup}"),
                _ if verbose => eprintln!("replication-auditor: {error:?}"),
                _ => eprintln!("replication-auditor: {error:#}"),
            }
            ExitCode::from(2)
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let verbose = cli.verbose > 0;
    match cli.command {
        Command::Invoke(args) => args.run(verbose).await,
        Command::Check(args) => args.run(verbose).await,
        Command::Doctor(args) => args.run().await,
        Command::Reconcile(args) => args.run().await,
    }
}
