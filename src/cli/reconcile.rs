//! `reconcile`: two S3 Inventory reports → a verdict per version, counts, a re-drive manifest.

use super::Output;
use crate::aws::athena::{Athena, Target};
use crate::aws::AwsClients;
use crate::config::Config;
use crate::metrics::EmfOutput;
use crate::reconcile::athena::{cost_usd, outcome, redrive_manifest, Counts, Plan, Side};
use anyhow::bail;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) const HELP: &str = "Each manifest's sourceBucket says whose report it is: the same bucket twice, swapped manifests or an empty source report are refused.\n\n\
Examples:\n  \
replication-auditor reconcile --source-manifest s3://reports/inventory/acme-reports/all/2026-12-01T01-00Z/manifest.json \\\n      \
--destination-manifest s3://reports/inventory/acme-reports-replica/all/2026-12-01T01-00Z/manifest.json --redrive-manifest redrive.csv\n  \
replication-auditor reconcile --offline --source-manifest ./copy/src/manifest.json --destination-manifest ./copy/dst/manifest.json\n  \
replication-auditor reconcile --engine athena --athena-database inventory --athena-output s3://athena-results/reconcile/ \\\n      \
--source-manifest s3://…/manifest.json --destination-manifest s3://…/manifest.json --redrive-manifest s3://reports/redrive/2026-12-01/\n\n\
--engine athena runs the same decision table as SQL in Amazon Athena (src/reconcile/athena.sql): the tables are created if missing \
(partition projection over each report's hive/ symlinks), one query counts the verdicts, and an UNLOAD writes the re-drive manifest to S3 (with a manifest.json for S3 Batch Replication); \
workgroup, database, output location, bytes scanned and the cost ($5 per TB scanned, 10 MB minimum per query) are printed.\n\n\
Reads: AUDITOR_LATE_AFTER_SECONDS, AUDITOR_ALARM_ON_UNREPLICATED; with --metrics AUDITOR_METRICS_MODE and AUDITOR_METRICS_NAMESPACE.";

#[derive(Debug, clap::Args)]
pub(super) struct ReconcileArgs {
    /// The source bucket's inventory manifest.json: s3://REPORT-BUCKET/KEY, or a local copy laid
    /// out as `aws s3 sync` of the report bucket leaves it.
    #[arg(long)]
    source_manifest: String,
    /// The destination bucket's inventory manifest.json (same forms).
    #[arg(long)]
    destination_manifest: String,
    /// Write a CSV manifest (bucket,key,version; no header; keys URL-encoded) of every version
    /// that needs re-driving, ready for S3 Batch Replication. With --engine athena: an empty
    /// s3://BUCKET/PREFIX/ that Athena's UNLOAD writes the manifest's files to, with a
    /// manifest.json listing them (S3InventoryReport_CSV_20161130) for the Batch Replication job.
    #[arg(long)]
    redrive_manifest: Option<PathBuf>,
    /// Where the join runs: on this machine (`local`), or in Amazon Athena over both reports
    /// (`athena`: nothing of size passes through this machine).
    #[arg(long, value_enum, default_value = "local")]
    engine: Engine,
    /// The Athena workgroup the queries run in (--engine athena).
    #[arg(long, default_value = "primary")]
    athena_workgroup: String,
    /// The Glue database the inventory tables are created in or reused from (--engine athena).
    #[arg(long)]
    athena_database: Option<String>,
    /// s3://BUCKET/PREFIX/ for Athena's query results (--engine athena).
    #[arg(long)]
    athena_output: Option<String>,
    /// How long one Athena query may run before it is stopped (--engine athena).
    #[arg(long, default_value_t = 1800)]
    athena_timeout_seconds: u64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Engine {
    Local,
    Athena,
}

/// `reconcile`: two inventories → verdicts, counts and a re-drive manifest.
impl ReconcileArgs {
    pub(super) async fn run(self) -> anyhow::Result<ExitCode> {
        if self.engine == Engine::Athena {
            return run_athena(self).await;
        }
        let args = self;
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
            let source = crate::aws::inventory::open(
                source_s3,
                &args.source_manifest,
                &work_dir.join("source"),
            )
            .await?;
            let destination = crate::aws::inventory::open(
                source_s3,
                &args.destination_manifest,
                &work_dir.join("destination"),
            )
            .await?;
            let rules = match (&clients, args.offline) {
                (Some(clients), false) => read_rules(clients, &source.manifest.source_bucket).await,
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
}

/// The source bucket's replication rules, as far as they can be read.
pub(super) async fn read_rules(clients: &AwsClients, bucket: &str) -> crate::reconcile::Rules {
    use crate::ports::ObjectProbe;
    use crate::reconcile::Rules;
    let probe =
        crate::aws::s3::S3Probe::new(clients.source_s3.clone(), clients.destination_s3.clone());
    if let Some(account) = &clients.caller_account {
        probe.expect_source_owner(account);
    }
    match probe.replication_rules(bucket).await {
        Ok(rules) => Rules::Read(rules),
        Err(error) => Rules::Unreadable(error.to_string()),
    }
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

/// The flags --engine athena needs, each refused in one line naming it.
fn athena_target(args: &ReconcileArgs) -> anyhow::Result<(Target, Option<String>)> {
    for (flag, value) in [
        ("--source-manifest", &args.source_manifest),
        ("--destination-manifest", &args.destination_manifest),
    ] {
        if !value.starts_with("s3://") {
            bail!("{flag} {value}: with --engine athena the report must be in S3 (s3://REPORT-BUCKET/…/manifest.json), where Athena reads it");
        }
    }
    let Some(database) = args.athena_database.clone() else {
        bail!("--athena-database is required with --engine athena (the Glue database the inventory tables go in)");
    };
    if database.is_empty()
        || !database
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        bail!("--athena-database {database:?}: Athena database names are lowercase letters, digits and _");
    }
    let output = match &args.athena_output {
        Some(output) if output.starts_with("s3://") && output.len() > 5 => output.clone(),
        Some(output) => bail!("--athena-output {output:?}: expected s3://BUCKET/PREFIX/"),
        None => bail!("--athena-output is required with --engine athena (s3://BUCKET/PREFIX/ for query results)"),
    };
    let redrive = match &args.redrive_manifest {
        None => None,
        Some(path) => match path.to_str() {
            Some(url) if url.starts_with("s3://") && url.ends_with('/') => Some(url.to_string()),
            _ => bail!("--redrive-manifest {}: with --engine athena, an empty s3://BUCKET/PREFIX/ (ending in /) for Athena's UNLOAD", path.display()),
        },
    };
    if args.athena_timeout_seconds == 0 {
        bail!("--athena-timeout-seconds must be at least 1");
    }
    if args.metrics {
        bail!("--metrics is not available with --engine athena yet: run with --engine local");
    }
    let target = Target {
        workgroup: args.athena_workgroup.clone(),
        database,
        output,
        timeout: std::time::Duration::from_secs(args.athena_timeout_seconds),
    };
    Ok((target, redrive))
}

/// One manifest.json, read from S3 (a few kilobytes).
async fn athena_side(clients: &AwsClients, url: &str) -> anyhow::Result<Side> {
    let (bucket, key) = url
        .trim_start_matches("s3://")
        .split_once('/')
        .context("expected s3://REPORT-BUCKET/…/manifest.json")?;
    // A manifest.json is a few kilobytes; 16 MiB is far past any S3 writes.
    let text = crate::aws::inventory::read_text(&clients.source_s3, bucket, key, 16 << 20).await?;
    Ok(Side::from_manifest(url, &text)?)
}

/// `reconcile --engine athena`: the manifests (small) are read here; the rows stay in S3, read
/// by Athena (`crate::reconcile::athena` renders the SQL, `crate::aws::athena` runs it).
async fn run_athena(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let (target, redrive) = athena_target(&args)?;
    let config = Config::from_env()?;
    let clients = AwsClients::load_checked(&config).await?;
    let source = athena_side(&clients, &args.source_manifest).await?;
    let destination = athena_side(&clients, &args.destination_manifest).await?;
    let rules = match args.offline {
        true => crate::reconcile::Rules::NotAsked,
        false => read_rules(&clients, &source.bucket).await,
    };
    let pair = crate::reconcile::ReportPair {
        source_bucket: &source.bucket,
        destination_bucket: &destination.bucket,
        source_versioned: source.has("version_id"),
        destination_versioned: destination.has("version_id"),
        names: (&args.source_manifest, &args.destination_manifest),
    };
    if let Some(why) = pair.refusal(&rules) {
        bail!("{why}");
    }
    let plan = Plan {
        database: target.database.clone(),
        source,
        destination,
        rules,
        policy: crate::audit::VerdictPolicy {
            late_after: chrono::Duration::from_std(config.late_after)
                .unwrap_or(chrono::Duration::seconds(900)),
            alarm_on_unreplicated: config.alarm_on_unreplicated,
        },
        redrive: redrive.clone(),
    };
    let athena = Athena::new(&clients.base, target);
    let mut queries = Vec::new();
    for side in [&plan.source, &plan.destination] {
        queries.push(
            athena
                .run(&side.create_table(&plan.database)?, false)
                .await?,
        );
    }
    let counts = athena.run(&plan.counts_query()?, true).await?;
    let parsed = Counts::parse(&counts.rows)?;
    // Refused before the UNLOAD: a refused pair leaves no re-drive manifest behind.
    let totals = parsed.totals();
    if let Some(why) = totals.odd_pair(&plan.rules, &plan.source.bucket, None) {
        bail!("{why}");
    }
    queries.push(counts);
    let mut written = None;
    if let (Some(sql), Some(location)) = (plan.redrive_query()?, &redrive) {
        queries.push(athena.run(&sql, false).await?);
        // The UNLOAD's files, listed in one manifest.json an S3 Batch Replication job takes.
        let files = crate::aws::athena::list_written(&clients.source_s3, location).await?;
        let bucket = location
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap_or_default();
        let body = redrive_manifest(&plan, bucket, &files, chrono::Utc::now());
        let url = format!("{location}manifest.json");
        crate::aws::athena::put(&clients.source_s3, &url, body).await?;
        written = Some(url);
    }
    let outcome = outcome(&plan, &parsed, written)?;
    print_athena(&outcome, &queries, athena.target(), args.output)?;
    Ok(ExitCode::from(if outcome.is_alarming() { 1 } else { 0 }))
}

/// The outcome as the local join prints it, and what Athena ran: workgroup, database, output
/// location, the query ids, bytes scanned and the cost.
fn print_athena(
    outcome: &crate::reconcile::Outcome,
    queries: &[crate::aws::athena::Finished],
    t: &Target,
    output: Output,
) -> anyhow::Result<()> {
    let scanned: u64 = queries.iter().map(|q| q.bytes_scanned).sum();
    // Each query is billed on its own, with its own 10 MB minimum (DDL is free).
    let cost: f64 = queries
        .iter()
        .filter(|q| q.bytes_scanned > 0 || !q.rows.is_empty())
        .map(|q| cost_usd(q.bytes_scanned))
        .sum();
    match output {
        Output::Json => {
            let mut report = serde_json::to_value(outcome)?;
            report["athena"] = serde_json::json!({
                "workgroup": t.workgroup, "database": t.database, "output_location": t.output,
                "query_execution_ids": queries.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "bytes_scanned": scanned, "cost_usd": cost,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Output::Table => {
            print!("{}", outcome.to_table());
            println!(
                "athena: workgroup {}, database {}, results {}; {scanned} bytes scanned, ${cost:.6} (at $5 per TB, 10 MB minimum per query)",
                t.workgroup, t.database, t.output
            );
        }
    }
    Ok(())
}
