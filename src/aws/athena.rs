//! Amazon Athena for `reconcile --engine athena`: a statement started in a workgroup
//! (StartQueryExecution with `WorkGroup`, `QueryExecutionContext.Database` and
//! `ResultConfiguration.OutputLocation`), polled with backoff until it ends
//! (GetQueryExecution: QUEUED and RUNNING, then SUCCEEDED, FAILED or CANCELLED), its result
//! rows read page by page (GetQueryResults) and its `Statistics.DataScannedInBytes` kept for
//! the cost. Domain types out; the SQL is `crate::reconcile::athena`'s.

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use std::time::Duration;

/// Polls start this far apart and double up to [`MAX_POLL`] (Athena's own guidance is to poll
/// GetQueryExecution; a reconcile query takes seconds to minutes).
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(5);

/// Where and how queries run.
#[derive(Debug, Clone)]
pub struct Target {
    pub workgroup: String,
    pub database: String,
    /// `s3://…/` for query results (`--athena-output`).
    pub output: String,
    /// How long one query may take before it is cancelled and refused.
    pub timeout: Duration,
}

/// One finished query.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub id: String,
    pub bytes_scanned: u64,
    /// Header first (a SELECT's result); empty for DDL and UNLOAD.
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AthenaCallError {
    /// Something a person fixes in the flags (exit 2).
    #[error("{0}")]
    Configuration(String),
    #[error("the Athena query {id} {state}: {reason}")]
    Query {
        id: String,
        state: String,
        reason: String,
    },
    #[error("{operation} failed: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
}

pub struct Athena {
    client: aws_sdk_athena::Client,
    target: Target,
}

impl Athena {
    pub fn new(base: &aws_config::SdkConfig, target: Target) -> Self {
        Self {
            client: aws_sdk_athena::Client::new(base),
            target,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs one statement to its end; its rows if `read_rows`.
    pub async fn run(&self, sql: &str, read_rows: bool) -> Result<Finished, AthenaCallError> {
        let id = self.start(sql).await?;
        let bytes_scanned = match self.wait(&id).await {
            Ok(bytes) => bytes,
            // Polling failed (after the SDK's retries): the query is stopped, not left
            // running and billing with nobody waiting for it.
            Err(error @ AthenaCallError::Call { .. }) => {
                self.stop(&id).await;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        let rows = match read_rows {
            true => self.rows(&id).await?,
            false => Vec::new(),
        };
        Ok(Finished {
            id,
            bytes_scanned,
            rows,
        })
    }

    async fn start(&self, sql: &str) -> Result<String, AthenaCallError> {
        let answer = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.target.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.target.database)
                    .build(),
            )
            .result_configuration(
                ResultConfiguration::builder()
                    .output_location(&self.target.output)
                    .build(),
            )
            .send()
            .await;
        match answer {
            Ok(output) => output.query_execution_id.ok_or(AthenaCallError::Call {
                operation: "StartQueryExecution",
                message: "no QueryExecutionId in the answer".into(),
            }),
            Err(error) => {
                let summary = super::error::ErrorSummary::of(&error).to_string();
                // A workgroup that does not exist: InvalidRequestException (Athena API
                // Reference, StartQueryExecution, "Errors"), its message naming the workgroup.
                let workgroup = summary.to_ascii_lowercase().contains("workgroup");
                Err(match workgroup {
                    true => AthenaCallError::Configuration(format!(
                        "--athena-workgroup {}: {summary}",
                        self.target.workgroup
                    )),
                    false => AthenaCallError::Call {
                        operation: "StartQueryExecution",
                        message: summary,
                    },
                })
            }
        }
    }

    /// StopQueryExecution, best effort (the error that made it needed is the one reported).
    async fn stop(&self, id: &str) {
        let _ = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }

    /// Polls until the query ends; its bytes scanned.
    async fn wait(&self, id: &str) -> Result<u64, AthenaCallError> {
        let deadline = tokio::time::Instant::now() + self.target.timeout;
        let mut pause = FIRST_POLL;
        loop {
            let answer = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| AthenaCallError::Call {
                    operation: "GetQueryExecution",
                    message: super::error::ErrorSummary::of(&e).to_string(),
                })?;
            let execution = answer.query_execution;
            let status = execution.as_ref().and_then(|e| e.status.clone());
            let scanned = execution
                .as_ref()
                .and_then(|e| e.statistics.as_ref())
                .and_then(|s| s.data_scanned_in_bytes)
                .unwrap_or(0);
            let state = status
                .as_ref()
                .and_then(|s| s.state.clone())
                .unwrap_or(QueryExecutionState::Queued);
            match state {
                QueryExecutionState::Succeeded => return Ok(scanned.max(0) as u64),
                QueryExecutionState::Failed | QueryExecutionState::Cancelled => {
                    return Err(AthenaCallError::Query {
                        id: id.to_string(),
                        state: state.as_str().to_string(),
                        reason: status
                            .and_then(|s| s.state_change_reason)
                            .unwrap_or_else(|| "Athena gave no reason".into()),
                    })
                }
                _ => {}
            }
            if tokio::time::Instant::now() + pause > deadline {
                self.stop(id).await;
                return Err(AthenaCallError::Query {
                    id: id.to_string(),
                    state: "did not finish".into(),
                    reason: format!(
                        "still {} after {:?}; stopped (raise --athena-timeout-seconds)",
                        state.as_str(),
                        self.target.timeout
                    ),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Every result row, page after page (`NextToken`), as text.
    async fn rows(&self, id: &str) -> Result<Vec<Vec<String>>, AthenaCallError> {
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_query_results()
                .query_execution_id(id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AthenaCallError::Call {
                    operation: "GetQueryResults",
                    message: super::error::ErrorSummary::of(&e).to_string(),
                })?;
            for row in page.result_set.and_then(|r| r.rows).unwrap_or_default() {
                rows.push(
                    row.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|d| d.var_char_value.unwrap_or_default())
                        .collect(),
                );
            }
            match page.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(rows),
            }
        }
    }
}

/// The objects under `s3://BUCKET/PREFIX/` (what an UNLOAD wrote): (key, size, MD5 from the
/// ETag), read with ListObjectsV2 (metadata only, never the rows).
pub async fn list_written(
    s3: &aws_sdk_s3::Config,
    url: &str,
) -> Result<Vec<(String, u64, String)>, AthenaCallError> {
    let (bucket, prefix) = url
        .trim_start_matches("s3://")
        .split_once('/')
        .unwrap_or((url, ""));
    let client = aws_sdk_s3::Client::from_conf(s3.clone());
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut files = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AthenaCallError::Call {
            operation: "ListObjectsV2",
            message: super::error::ErrorSummary::of(&e).to_string(),
        })?;
        for object in page.contents() {
            let key = object.key().unwrap_or_default().to_string();
            if key.ends_with("manifest.json") {
                continue;
            }
            let md5 = object
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string();
            files.push((key, object.size().unwrap_or(0).max(0) as u64, md5));
        }
    }
    Ok(files)
}

/// Writes `body` to `s3://BUCKET/KEY`.
pub async fn put(s3: &aws_sdk_s3::Config, url: &str, body: String) -> Result<(), AthenaCallError> {
    let (bucket, key) = url
        .trim_start_matches("s3://")
        .split_once('/')
        .unwrap_or((url, ""));
    aws_sdk_s3::Client::from_conf(s3.clone())
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| AthenaCallError::Call {
            operation: "PutObject",
            message: super::error::ErrorSummary::of(&e).to_string(),
        })?;
    Ok(())
}
