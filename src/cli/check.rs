//! `check`: one object, s3://BUCKET/KEY, through the handler, with what a person needs: the
//! destination's current version compared, and what is missing when the object is not there.

use super::Output;
use anyhow::bail;
use serde_json::json;
use std::process::ExitCode;

pub(super) const HELP: &str = "<URL> is s3://BUCKET/KEY with the key exactly as stored — case-sensitive, not URL-encoded (a space is a space, not %20 or +); quote it in the shell.\n\
--version-id checks one version (aws s3api list-object-versions lists them); without it, the current version.\n\
A bucket, key or version that does not exist is named as such (with keys that look like the one typed) and exits 2.\n\n\
Examples:\n  \
replication-auditor check \"s3://acme-screenshots/Screen Shot 1.png\"\n  \
replication-auditor check s3://acme-reports/q3.pdf --version-id 3HL4kqtJvjVBH40Nrjfkd --output json\n\n\
Reads: AUDITOR_DESTINATION_ROLE_ARN(S) and AUDITOR_EXTERNAL_ID (the audit role in the destination account), AUDITOR_LATE_AFTER_SECONDS.";

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// s3://BUCKET/KEY, the key exactly as stored (not URL-encoded).
    #[arg(value_name = "URL")]
    url: String,
    /// The version to check (default: the current version).
    #[arg(long)]
    version_id: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

impl CheckArgs {
    pub(super) async fn run(self, verbose: bool) -> anyhow::Result<ExitCode> {
        let url = &self.url;
        let (bucket, key) = parse_s3_url(url)?;
        if !crate::config::is_bucket_name(&bucket) {
            bail!("{bucket:?} in {url:?} is not a valid S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-'): check the URL");
        }
        if self.version_id.as_deref().is_some_and(str::is_empty) {
            bail!("--version-id is empty: give a version id (aws s3api list-object-versions shows them), or leave the flag out to check the current version");
        }
        let payload = json!({"bucket": bucket, "key": key, "version_id": self.version_id});
        super::invoke::run_handler(&payload, None, self.output, true, verbose).await
    }
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
