//! Reading S3 Inventory reports from S3 for `reconcile`: an object streamed to a local file
//! (data files can be gigabytes; nothing is held in memory), with the auditor's own credentials.

use std::path::Path;
use thiserror::Error;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Error)]
pub enum DownloadError {
    #[error("cannot read s3://{bucket}/{key}: {message} (grant s3:GetObject on the inventory report bucket)")]
    Get {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a failed read of `s3://bucket/key` is told.
fn get_error<'a>(bucket: &'a str, key: &'a str) -> impl Fn(String) -> DownloadError + 'a {
    move |message| DownloadError::Get {
        bucket: bucket.to_string(),
        key: key.to_string(),
        message,
    }
}

/// GetObject of `s3://bucket/key`, its body still to be read.
async fn get_object(
    config: &aws_sdk_s3::Config,
    bucket: &str,
    key: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, DownloadError> {
    aws_sdk_s3::Client::from_conf(config.clone())
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| get_error(bucket, key)(super::error::ErrorSummary::of(&e).to_string()))
}

/// Streams `s3://bucket/key` into `path`.
pub async fn download(
    config: &aws_sdk_s3::Config,
    bucket: &str,
    key: &str,
    path: &Path,
) -> Result<(), DownloadError> {
    let get_error = get_error(bucket, key);
    let output = get_object(config, bucket, key).await?;
    let write_error = |source| DownloadError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut file = tokio::fs::File::create(path).await.map_err(write_error)?;
    let mut body = output.body;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| get_error(e.to_string()))?
    {
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)?;
    Ok(())
}

/// A small object (a manifest.json) read into memory: refused past `limit` bytes or when it is
/// not UTF-8.
pub async fn read_text(
    config: &aws_sdk_s3::Config,
    bucket: &str,
    key: &str,
    limit: u64,
) -> Result<String, DownloadError> {
    let get_error = get_error(bucket, key);
    let output = get_object(config, bucket, key).await?;
    let length = output.content_length.unwrap_or(0).max(0) as u64;
    if length > limit {
        return Err(get_error(format!(
            "{length} bytes: larger than a manifest.json can be ({limit} at most)"
        )));
    }
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| get_error(e.to_string()))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| get_error("not UTF-8 text".into()))
}

/// Opens one side's inventory: `s3://BUCKET/KEY/manifest.json` (manifest and data files
/// downloaded into `work_dir` with the auditor's own credentials) or a local manifest path.
pub async fn open(
    s3: Option<&aws_sdk_s3::Config>,
    manifest: &str,
    work_dir: &Path,
) -> anyhow::Result<crate::reconcile::Inventory> {
    use crate::reconcile::manifest::Manifest;
    use crate::reconcile::Inventory;
    let Some(rest) = manifest.strip_prefix("s3://") else {
        return Ok(Inventory::local(Path::new(manifest))?);
    };
    let Some((bucket, key)) = rest
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        anyhow::bail!("expected s3://REPORT-BUCKET/…/manifest.json, got {manifest:?}");
    };
    let Some(s3) = s3 else {
        anyhow::bail!("{manifest} is in S3: reading it needs AWS access");
    };
    std::fs::create_dir_all(work_dir)?;
    let local_manifest = work_dir.join("manifest.json");
    download(s3, bucket, key, &local_manifest).await?;
    let text = std::fs::read_to_string(&local_manifest)?;
    let parsed = Manifest::parse(manifest, &text)?;
    // Data files live in the report bucket the manifest names (the one it was read from).
    let report_bucket = parsed.report_bucket().unwrap_or_else(|| bucket.to_string());
    let mut files = Vec::with_capacity(parsed.files.len());
    for (index, file) in parsed.files.iter().enumerate() {
        let path = work_dir.join(format!("data-{index}"));
        download(s3, &report_bucket, &file.key, &path).await?;
        files.push(path);
    }
    Ok(Inventory::new(parsed, files, manifest.to_string())?)
}
