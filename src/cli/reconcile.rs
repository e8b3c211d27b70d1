//! `reconcile`: two S3 Inventory reports → a verdict per version, counts, a re-drive manifest.

use super::Output;
use crate::aws::AwsClients;
use crate::config::Config;
use crate::metrics::EmfOutput;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) const HELP: &str = "Each manifest's sourceBucket says whose report it is: the same bucket twice, swapped manifests or an empty source report are refused.\n\n\
Examples:\n  \
replication-auditor reconcile --source-manifest s3://reports/inventory/acme-reports/all/2026-12-01T01-00Z/manifest.json \\\n      \
--destination-manifest s3://reports/inventory/acme-reports-replica/all/2026-12-01T01-00Z/manifest.json --redrive-manifest redrive.csv\n  \
replication-auditor reconcile --offline --source-manifest ./copy/src/manifest.json --destination-manifest ./copy/dst/manifest.json\n\n\
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

/// `reconcile`: two inventories → verdicts, counts and a re-drive manifest.
impl ReconcileArgs {
    pub(super) async fn run(self) -> anyhow::Result<ExitCode> {
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
