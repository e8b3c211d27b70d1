//! The command line: `invoke` runs exactly the Lambda handler on an event file, `check` audits
//! one object, `doctor` checks a whole replication setup (live, or `--offline` on documents),
//! `reconcile` audits existing objects from two S3 Inventory reports.
//! Exit codes: 0 healthy, 1 something alarming found, 2 usage or configuration error (with a
//! message saying what to fix).

use crate::aws::{live_auditor, AwsClients};
use crate::config::Config;
use crate::metrics::EmfOutput;
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

/// Exit codes, the same for every subcommand.
const EXIT_CODES: &str = "Exit codes: 0 healthy, 1 something alarming found, 2 a usage or configuration error (the message says what to fix).";

/// The AWS environment every subcommand that calls AWS reads (the SDK's own variables).
const AWS_ENV: &str = "AWS environment: AWS_REGION, credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE), AWS_ENDPOINT_URL for a local emulator.";

const ROOT_HELP: &str = "Exit codes: 0 healthy, 1 something alarming found, 2 a usage or configuration error.\n\
Configuration: AUDITOR_* variables (docs/reference.md, \"Configuration\"); the SDK's AWS_REGION, credentials, AWS_ENDPOINT_URL.\n\
Verdicts and what each means: docs/verdicts.md.";

const INVOKE_HELP: &str = "Examples:\n  \
replication-auditor invoke --event events/sqs-s3.json\n  \
replication-auditor invoke --event events/batch-operations-2.0.json --output table\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN(S), AUDITOR_EXTERNAL_ID, AUDITOR_ALERT_TOPIC_ARN, AUDITOR_METRICS_MODE and the rest of the configuration table in docs/reference.md.";

const CHECK_HELP: &str = "<URL> is s3://BUCKET/KEY with the key exactly as stored — case-sensitive, not URL-encoded (a space is a space, not %20 or +); quote it in the shell.\n\
--version-id checks one version (aws s3api list-object-versions lists them); without it, the current version.\n\
A bucket, key or version that does not exist is named as such (with keys that look like the one typed) and exits 2.\n\n\
Examples:\n  \
replication-auditor check \"s3://acme-screenshots/Screen Shot 1.png\"\n  \
replication-auditor check s3://acme-reports/q3.pdf --version-id 3HL4kqtJvjVBH40Nrjfkd --output json\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN(S) and AUDITOR_EXTERNAL_ID (the audit role in the destination account), AUDITOR_LATE_AFTER_SECONDS.";

const DOCTOR_HELP: &str = "Live: reads account A with your credentials and each destination through the audit role (configuration only, no objects).\n\
--offline: lints the documents you are about to paste, without AWS.\n\n\
Examples:\n  \
replication-auditor doctor --source-bucket acme-reports\n  \
replication-auditor doctor --source-bucket acme-reports --destination-role arn:aws:iam::222222222222:role/replication-auditor-read --external-id ID\n  \
replication-auditor doctor --offline --bucket-policy b-policy.json --source-account 111111111111 --destination-account 222222222222 --source-bucket acme-reports --destination-bucket acme-reports-replica\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN and AUDITOR_EXTERNAL_ID (defaults of --destination-role / --external-id).";

const RECONCILE_HELP: &str = "Each manifest's sourceBucket says whose report it is: the same bucket twice, swapped manifests or an empty source report are refused.\n\n\
Examples:\n  \
replication-auditor reconcile --source-manifest s3://reports/inventory/acme-reports/all/2026-12-01T01-00Z/manifest.json \\\n      \
--destination-manifest s3://reports/inventory/acme-reports-replica/all/2026-12-01T01-00Z/manifest.json --redrive-manifest redrive.csv\n  \
replication-auditor reconcile --offline --source-manifest ./copy/src/manifest.json --destination-manifest ./copy/dst/manifest.json\n\n\
Reads: AUDITOR_LATE_AFTER_SECONDS, AUDITOR_ALARM_ON_UNREPLICATED; with --metrics AUDITOR_METRICS_MODE and AUDITOR_METRICS_NAMESPACE.";

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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Json,
    Table,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Lambda handler on a JSON event file; print its JSON response on stdout.
    #[command(after_help = concat_help(INVOKE_HELP))]
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
    #[command(after_help = concat_help(CHECK_HELP))]
    Check {
        /// s3://BUCKET/KEY, the key exactly as stored (not URL-encoded).
        #[arg(value_name = "URL")]
        url: String,
        /// The version to check (default: the current version).
        #[arg(long)]
        version_id: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Check a replication setup in both accounts (or, with --offline, the documents about to
    /// be pasted): one PASS / WARN / FAIL line per check, with the fix.
    #[command(after_help = concat_help(DOCTOR_HELP))]
    Doctor(DoctorArgs),
    /// Reconcile S3 Inventory reports of the source and destination buckets: a verdict per
    /// object version, counts, and a re-drive manifest for S3 Batch Replication.
    #[command(after_help = concat_help(RECONCILE_HELP))]
    Reconcile(ReconcileArgs),
}

#[derive(Debug, clap::Args)]
struct ReconcileArgs {
    /// The source bucket's inventory manifest.json: s3://REPORT-BUCKET/KEY, or a local copy laid
    /// out as `aws s3 sync` of the report bucket leaves it.
    #[arg(long)]
    source_manifest: String,
    /// The destination bucket's inventory manifest.json (same forms).
    #[arg(long)]
    destination_manifest: String,
    /// Write a CSV manifest (bucket,key,version; no header; keys URL-encoded) of every version
    /// that needs re-driving, ready for S3 Batch Replication.
    #[arg(long)]
    redrive_manifest: Option<PathBuf>,
    /// Memory the join may use before both sides are spilled to partition files.
    #[arg(long, default_value_t = 262_144)]
    memory_budget_kib: u64,
    /// Where spilled partitions go (default: a fresh directory under the system's temp dir).
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Do not read the source bucket's replication configuration (coverage unknown).
    #[arg(long)]
    offline: bool,
    /// Publish the counts as the Lambda does (per verdict, dimensions SourceBucket and
    /// DestinationBucket): PutMetricData, or EMF lines on stderr with AUDITOR_METRICS_MODE=emf.
    #[arg(long)]
    metrics: bool,
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

#[derive(Debug, clap::Args)]
struct DoctorArgs {
    /// The source bucket (account A).
    #[arg(long)]
    source_bucket: String,
    /// Lint documents only, without any AWS access.
    #[arg(long)]
    offline: bool,
    /// --offline: the destination bucket policy (JSON file).
    #[arg(long, requires = "offline")]
    bucket_policy: Option<PathBuf>,
    /// --offline: the replication role's permissions policy (JSON file).
    #[arg(long, requires = "offline")]
    role_policy: Option<PathBuf>,
    /// --offline: the replication role's trust policy (JSON file).
    #[arg(long, requires = "offline")]
    trust_policy: Option<PathBuf>,
    /// --offline: account A's 12-digit id.
    #[arg(long, requires = "offline")]
    source_account: Option<String>,
    /// --offline: account B's 12-digit id.
    #[arg(long, requires = "offline")]
    destination_account: Option<String>,
    /// --offline: the destination bucket (account B).
    #[arg(long, requires = "offline")]
    destination_bucket: Option<String>,
    /// Role to assume in the destination account (default: AUDITOR_DESTINATION_ROLE_ARN).
    #[arg(long, conflicts_with = "offline")]
    destination_role: Option<String>,
    /// External id that role requires (default: AUDITOR_EXTERNAL_ID).
    #[arg(long, conflicts_with = "offline")]
    external_id: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
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
    let is_check = matches!(cli.command, Command::Check { .. });
    let (payload, deadline, output) = match cli.command {
        Command::Doctor(args) => return doctor(args).await,
        Command::Reconcile(args) => return reconcile(args).await,
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
            if !crate::config::is_bucket_name(&bucket) {
                bail!("{bucket:?} in {url:?} is not a valid S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-'): check the URL");
            }
            if version_id.as_deref().is_some_and(str::is_empty) {
                bail!("--version-id is empty: give a version id (aws s3api list-object-versions shows them), or leave the flag out to check the current version");
            }
            (
                json!({"bucket": bucket, "key": key, "version_id": version_id}),
                None,
                output,
            )
        }
    };
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
    let clients = AwsClients::load_checked(&config).await?;
    // The schedule's drift-check input runs what the Lambda runs for it.
    if let Some(request) = crate::doctor::schedule::request(&payload) {
        let drift = crate::aws::doctor::DriftChecker::new(&config, &clients);
        let response = drift.run(&request, EmfOutput::Stderr).await?;
        println!("{}", serde_json::to_string_pretty(&response)?);
        let failing = response["doctor"]
            .as_array()
            .is_some_and(|all| all.iter().any(|b| b["setup_problems"] != 0));
        return Ok(ExitCode::from(if failing { 1 } else { 0 }));
    }
    let auditor = live_auditor(config, clients, EmfOutput::Stderr);
    let report = auditor.handle(&payload, deadline).await?;
    if let Some(unreachable) = report
        .findings
        .iter()
        .find(|f| f.detail.cause == Some(crate::audit::ProbeErrorKind::Unreachable))
    {
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
        );
    }
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

/// `doctor`: offline on documents, or live against both accounts.
async fn doctor(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let report = if args.offline {
        crate::doctor::offline::offline(&offline_input(&args)?)
    } else {
        if let Some(problem) = bucket_name_problem("--source-bucket", &args.source_bucket) {
            bail!("{problem}");
        }
        let mut config = Config::from_env()?;
        if let Some(role) = &args.destination_role {
            if !crate::config::is_role_arn(role) {
                bail!("--destination-role {role:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>): the audit role in the destination account");
            }
            config.destination_role_arn = Some(role.clone());
        }
        if args.external_id.is_some() {
            if config.destination_role_arn.is_none() && config.destination_role_arns.is_empty() {
                bail!("--external-id is the audit role's external id, but no audit role is given: add --destination-role arn:aws:iam::<account B>:role/<name> (or set AUDITOR_DESTINATION_ROLE_ARN)");
            }
            config.external_id = args.external_id.clone();
        }
        crate::aws::doctor::run(&config, &args.source_bucket).await?
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
        Output::Table => print!("{}", report.to_table()),
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// `reconcile`: two inventories → verdicts, counts and a re-drive manifest.
async fn reconcile(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    use crate::reconcile::{reconcile, Rules, Settings};
    let config = Config::from_env()?;
    let work_dir = match &args.spill_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "replication-auditor-reconcile-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        )),
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create the spill directory {}", work_dir.display()))?;
    let result = async {
        let needs_aws = !args.offline
            || args.metrics
            || args.source_manifest.starts_with("s3://")
            || args.destination_manifest.starts_with("s3://");
        let clients = if needs_aws {
            Some(AwsClients::load_checked(&config).await?)
        } else {
            None
        };
        let source_s3 = clients.as_ref().map(|c| &c.source_s3);
        let source =
            crate::aws::inventory::open(source_s3, &args.source_manifest, &work_dir.join("source"))
                .await?;
        let destination = crate::aws::inventory::open(
            source_s3,
            &args.destination_manifest,
            &work_dir.join("destination"),
        )
        .await?;
        let rules = match (&clients, args.offline) {
            (Some(clients), false) => {
                use crate::ports::ObjectProbe;
                let probe = crate::aws::s3::S3Probe::new(
                    clients.source_s3.clone(),
                    clients.destination_s3.clone(),
                );
                if let Some(account) = &clients.caller_account {
                    probe.expect_source_owner(account);
                }
                match probe
                    .replication_rules(&source.manifest.source_bucket)
                    .await
                {
                    Ok(rules) => Rules::Read(rules),
                    Err(error) => Rules::Unreadable(error.to_string()),
                }
            }
            _ => Rules::NotAsked,
        };
        let settings = Settings {
            policy: crate::audit::VerdictPolicy {
                late_after: chrono::Duration::from_std(config.late_after)
                    .unwrap_or(chrono::Duration::seconds(900)),
                alarm_on_unreplicated: config.alarm_on_unreplicated,
            },
            memory_budget_bytes: args.memory_budget_kib.saturating_mul(1024),
            spill_dir: work_dir.clone(),
            redrive: args.redrive_manifest.clone(),
            progress: true,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        // Reading and joining is blocking file work: keep it off the async scheduler.
        let mut outcome = tokio::task::spawn_blocking(move || {
            reconcile(&source, &destination, &rules, &settings)
        })
        .await??;
        if let (true, Some(clients)) = (args.metrics, &clients) {
            outcome.metrics = Some(publish_reconcile_metrics(&config, clients, &outcome).await);
        }
        anyhow::Ok(outcome)
    }
    .await;
    if args.spill_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    let outcome = result?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        Output::Table => print!("{}", outcome.to_table()),
    }
    Ok(ExitCode::from(if outcome.is_alarming() { 1 } else { 0 }))
}

/// `reconcile --metrics`: the outcome's counts as the Lambda publishes an invocation's.
async fn publish_reconcile_metrics(
    config: &Config,
    clients: &AwsClients,
    outcome: &crate::reconcile::Outcome,
) -> crate::metrics::Delivery {
    let pairs = [outcome.pair_metrics()];
    crate::ports::deliver(
        &crate::aws::cloudwatch::CloudWatchMetrics::new(clients.cloudwatch.clone()),
        config.metrics_mode,
        &config.metrics_namespace,
        &crate::metrics::datums(&pairs),
        EmfOutput::Stderr,
    )
    .await
}

/// The offline arguments, read and checked: every problem at once.
fn offline_input(args: &DoctorArgs) -> anyhow::Result<crate::doctor::offline::OfflineInput> {
    use crate::doctor::checks::Pair;
    let mut problems = Vec::new();
    let mut required = |flag: &str, value: &Option<String>| match value {
        Some(value) => value.clone(),
        None => {
            problems.push(format!("{flag} is required with --offline"));
            String::new()
        }
    };
    let pair = Pair {
        source_account: required("--source-account", &args.source_account),
        destination_account: required("--destination-account", &args.destination_account),
        source_bucket: args.source_bucket.clone(),
        destination_bucket: required("--destination-bucket", &args.destination_bucket),
        role_arn: None,
        delete_markers: None,
        owner_override: None,
    };
    if args.bucket_policy.is_none() {
        problems.push("--bucket-policy FILE is required with --offline".into());
    }
    problems.extend(bucket_name_problem("--source-bucket", &args.source_bucket));
    if let Some(bucket) = &args.destination_bucket {
        problems.extend(bucket_name_problem("--destination-bucket", bucket));
    }
    if problems.is_empty() {
        problems.extend(crate::doctor::offline::validate_names(&pair));
    }
    let mut read = |path: &Option<PathBuf>| {
        path.as_ref()
            .and_then(|path| match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(error) => {
                    problems.push(format!("cannot read {}: {error}", path.display()));
                    None
                }
            })
    };
    let bucket_policy = read(&args.bucket_policy);
    let role_policy = read(&args.role_policy);
    let trust_policy = read(&args.trust_policy);
    if !problems.is_empty() {
        bail!("doctor --offline:\n  - {}", problems.join("\n  - "));
    }
    Ok(crate::doctor::offline::OfflineInput {
        pair,
        bucket_policy: bucket_policy.unwrap_or_default(),
        role_policy,
        trust_policy,
    })
}

fn bucket_name_problem(flag: &str, bucket: &str) -> Option<String> {
    (!crate::config::is_bucket_name(bucket)).then(|| {
        format!("{flag} {bucket:?} is not a valid S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-')")
    })
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
