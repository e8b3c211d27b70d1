//! `doctor`: a replication setup checked live in both accounts, or `--offline` on documents.

use super::{bucket_name_problem, Output};
use crate::config::Config;
use anyhow::bail;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) const HELP: &str = "Live: reads account A with your credentials and each destination through the audit role (configuration only, no objects).\n\
--offline: lints the documents you are about to paste, without AWS.\n\n\
Examples:\n  \
replication-auditor doctor --source-bucket acme-reports\n  \
replication-auditor doctor --source-bucket acme-reports --destination-role arn:aws:iam::222222222222:role/replication-auditor-read --external-id ID\n  \
replication-auditor doctor --offline --bucket-policy b-policy.json --source-account 111111111111 --destination-account 222222222222 --source-bucket acme-reports --destination-bucket acme-reports-replica\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN and AUDITOR_EXTERNAL_ID (defaults of --destination-role / --external-id).";

#[derive(Debug, clap::Args)]
pub(super) struct DoctorArgs {
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

/// `doctor`: offline on documents, or live against both accounts.
impl DoctorArgs {
    pub(super) async fn run(self) -> anyhow::Result<ExitCode> {
        let args = self;
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
                if config.destination_role_arn.is_none() && config.destination_role_arns.is_empty()
                {
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
}

/// The offline arguments, read and checked: every problem at once.
fn offline_input(args: &DoctorArgs) -> anyhow::Result<crate::doctor::offline::OfflineInput> {
    use crate::doctor::pair::Pair;
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
