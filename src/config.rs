//! Configuration: `AUDITOR_*` environment variables → a validated [`Config`].
//!
//! Every variable is a named constant below and a row in the configuration table of docs/reference.md (and its name in README.md).
//! Validation collects every problem and reports them together; a value that does not parse
//! is an error, never silently replaced by a default. AWS endpoints, region and credentials
//! are not here: the SDK reads its own standard environment (`AWS_ENDPOINT_URL`, …).

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

pub const DESTINATION_ROLE_ARN: &str = "AUDITOR_DESTINATION_ROLE_ARN";
pub const DESTINATION_ROLE_ARNS: &str = "AUDITOR_DESTINATION_ROLE_ARNS";
pub const MAX_RECEIVE_COUNT: &str = "AUDITOR_MAX_RECEIVE_COUNT";
pub const EXTERNAL_ID: &str = "AUDITOR_EXTERNAL_ID";
pub const DESTINATION_BUCKET: &str = "AUDITOR_DESTINATION_BUCKET";
pub const METRICS_NAMESPACE: &str = "AUDITOR_METRICS_NAMESPACE";
pub const METRICS_MODE: &str = "AUDITOR_METRICS_MODE";
pub const ALERT_TOPIC_ARN: &str = "AUDITOR_ALERT_TOPIC_ARN";
pub const LATE_AFTER_SECONDS: &str = "AUDITOR_LATE_AFTER_SECONDS";
pub const PENDING_WAIT_SECONDS: &str = "AUDITOR_PENDING_WAIT_SECONDS";
pub const MAX_CONCURRENCY: &str = "AUDITOR_MAX_CONCURRENCY";
pub const ALARM_ON_UNREPLICATED: &str = "AUDITOR_ALARM_ON_UNREPLICATED";
pub const DEADLINE_MARGIN_MS: &str = "AUDITOR_DEADLINE_MARGIN_MS";
pub const SOURCE_BUCKETS: &str = "AUDITOR_SOURCE_BUCKETS";
pub const LOG_KEYS: &str = "AUDITOR_LOG_KEYS";
pub const ALERT_COOLDOWN_SECONDS: &str = "AUDITOR_ALERT_COOLDOWN_SECONDS";

/// Every variable the auditor reads (docs/reference.md, README.md and infra/ are checked against it).
pub const ALL_VARIABLES: &[&str] = &[
    DESTINATION_ROLE_ARN,
    DESTINATION_ROLE_ARNS,
    MAX_RECEIVE_COUNT,
    EXTERNAL_ID,
    DESTINATION_BUCKET,
    METRICS_NAMESPACE,
    METRICS_MODE,
    ALERT_TOPIC_ARN,
    LATE_AFTER_SECONDS,
    PENDING_WAIT_SECONDS,
    MAX_CONCURRENCY,
    ALARM_ON_UNREPLICATED,
    DEADLINE_MARGIN_MS,
    SOURCE_BUCKETS,
    LOG_KEYS,
    ALERT_COOLDOWN_SECONDS,
];

pub const DEFAULT_NAMESPACE: &str = "S3ReplicationAuditor";
pub const DEFAULT_LATE_AFTER_SECONDS: u64 = 900;
pub const DEFAULT_PENDING_WAIT_SECONDS: u64 = 10;
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;
pub const DEFAULT_DEADLINE_MARGIN_MS: u64 = 2_000;
/// A cause alerted is not alerted again by the same container for an hour: a storm of one
/// cause is one message an hour (with the count held back), while the alarms page at once.
pub const DEFAULT_ALERT_COOLDOWN_SECONDS: u64 = 3_600;

/// Where metrics go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// One PutMetricData call per invocation.
    CloudWatch,
    /// Embedded Metric Format log lines (no API call; CloudWatch Logs extracts them).
    Emf,
    /// No metrics (local runs).
    Off,
}

/// How object keys appear wherever they leave S3: logs, alerts, the chat notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKeys {
    Plain,
    /// SHA-256 of the key (first 16 hex digits): the same key always shows the same way.
    Hash,
}

impl LogKeys {
    /// The key as it may be shown: itself, or `sha256:` and its hash's first 16 hex digits.
    pub fn show(self, key: &str) -> String {
        use sha2::{Digest, Sha256};
        match self {
            LogKeys::Plain => key.to_string(),
            LogKeys::Hash => format!(
                "sha256:{}",
                &hex::encode(Sha256::digest(key.as_bytes()))[..16]
            ),
        }
    }
}

/// The validated configuration the handler runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The audit role for destinations whose account the rules do not state (and its account).
    pub destination_role_arn: Option<String>,
    /// One audit role per further destination account (the account is the one in the ARN).
    pub destination_role_arns: Vec<String>,
    /// The event queue's `maxReceiveCount`: an audit error on an earlier delivery is retried
    /// by SQS and not alerted; on this delivery it alerts. `None`: every error alerts.
    pub max_receive_count: Option<u32>,
    /// Also HEAD the destination's current version, so a replica hidden by a later version or a
    /// delete marker is a `mismatch` (one more HEAD per object: `check` sets it).
    pub verify_current_version: bool,
    /// When a version someone named is not in the source, find out what is missing (bucket,
    /// key or version; keys that look like it, by one listing of its "folder"): `check` sets it.
    pub explain_absence: bool,
    pub external_id: Option<String>,
    pub destination_bucket: Option<String>,
    pub metrics_namespace: String,
    pub metrics_mode: MetricsMode,
    /// Whether `AUDITOR_METRICS_MODE` was set (else Lambda defaults to EMF, the CLI to CloudWatch).
    pub metrics_mode_set: bool,
    pub alert_topic_arn: Option<String>,
    pub late_after: Duration,
    pub pending_wait: Duration,
    pub max_concurrency: usize,
    pub alarm_on_unreplicated: bool,
    pub deadline_margin: Duration,
    /// Only these source buckets are audited (None: every bucket an event names).
    pub source_buckets: Option<Vec<String>>,
    pub log_keys: LogKeys,
    /// How long one container holds back a cause it alerted (zero: never).
    pub alert_cooldown: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            destination_role_arn: None,
            destination_role_arns: Vec::new(),
            max_receive_count: None,
            verify_current_version: false,
            explain_absence: false,
            external_id: None,
            destination_bucket: None,
            metrics_namespace: DEFAULT_NAMESPACE.into(),
            metrics_mode: MetricsMode::CloudWatch,
            metrics_mode_set: false,
            alert_topic_arn: None,
            late_after: Duration::from_secs(DEFAULT_LATE_AFTER_SECONDS),
            pending_wait: Duration::from_secs(DEFAULT_PENDING_WAIT_SECONDS),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            alarm_on_unreplicated: true,
            deadline_margin: Duration::from_millis(DEFAULT_DEADLINE_MARGIN_MS),
            source_buckets: None,
            log_keys: LogKeys::Plain,
            alert_cooldown: Duration::from_secs(DEFAULT_ALERT_COOLDOWN_SECONDS),
        }
    }
}

/// Every problem found in the environment, reported at once.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        write!(f, "See the configuration table in docs/reference.md.")
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The configuration as the Lambda function runs it:
    /// - a PENDING object is handed back to SQS at once, never waited for: sleeping inside an
    ///   invocation is billed, SQS redelivery (the queue's visibility timeout) is not;
    /// - metrics as Embedded Metric Format lines unless `AUDITOR_METRICS_MODE` says otherwise:
    ///   no API call, no IAM permission, CloudWatch Logs extracts them;
    /// - the bucket allow-list (`AUDITOR_SOURCE_BUCKETS`) required: without it anyone who can
    ///   send to the queue or invoke the function names the buckets the auditor reads (the
    ///   template sets it).
    pub fn inside_lambda(self) -> Result<Self, ConfigError> {
        if self.source_buckets.is_none() {
            return Err(ConfigError {
                problems: vec![format!("{SOURCE_BUCKETS} is required inside Lambda: name the source buckets the function audits (infra/auditor.yaml sets it to SourceBucketName)")],
            });
        }
        Ok(Self {
            pending_wait: Duration::ZERO,
            metrics_mode: if self.metrics_mode_set {
                self.metrics_mode
            } else {
                MetricsMode::Emf
            },
            ..self
        })
    }

    /// Every audit role to assume: the default one and the per-account ones.
    pub fn destination_roles(&self) -> impl Iterator<Item = &str> {
        self.destination_role_arn
            .iter()
            .chain(&self.destination_role_arns)
            .map(String::as_str)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map). Empty values count as unset.
    /// Every variable is parsed and checked first, each problem collected; the [`Config`] is
    /// built only when there is none.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut vars = Variables {
            lookup,
            problems: Vec::new(),
        };
        vars.refuse_blanks();
        let defaults = Config::default();
        let (destination_role_arn, destination_role_arns) = audit_roles(&mut vars);
        let external_id = external_id(
            &mut vars,
            destination_role_arn.is_some() || !destination_role_arns.is_empty(),
        );
        let max_receive_count = vars.whole(
            MAX_RECEIVE_COUNT,
            1..=1000,
            "expected the queue's maxReceiveCount, a whole number from 1 to 1000",
        );
        let destination_bucket = destination_bucket(&mut vars);
        let metrics_namespace = metrics_namespace(&mut vars, defaults.metrics_namespace);
        let metrics_mode_set = vars.get(METRICS_MODE).is_some();
        let metrics_mode = vars.choice(
            METRICS_MODE,
            &[
                ("cloudwatch", MetricsMode::CloudWatch),
                ("emf", MetricsMode::Emf),
                ("off", MetricsMode::Off),
            ],
        );
        let alert_topic_arn = alert_topic_arn(&mut vars);
        let late_after = vars.seconds(LATE_AFTER_SECONDS, DEFAULT_LATE_AFTER_SECONDS, 1);
        let pending_wait = vars.seconds(PENDING_WAIT_SECONDS, DEFAULT_PENDING_WAIT_SECONDS, 0);
        let max_concurrency = vars
            .whole(
                MAX_CONCURRENCY,
                1..=256,
                "expected a whole number from 1 to 256",
            )
            .unwrap_or(DEFAULT_MAX_CONCURRENCY);
        let alarm_on_unreplicated =
            vars.choice(ALARM_ON_UNREPLICATED, &[("true", true), ("false", false)]);
        let deadline_margin = vars
            .whole(
                DEADLINE_MARGIN_MS,
                0..=60_000,
                "expected milliseconds from 0 to 60000",
            )
            .map_or(defaults.deadline_margin, Duration::from_millis);
        let source_buckets = source_buckets(&mut vars);
        let alert_cooldown =
            vars.seconds(ALERT_COOLDOWN_SECONDS, DEFAULT_ALERT_COOLDOWN_SECONDS, 0);
        let log_keys = vars.choice(
            LOG_KEYS,
            &[("plain", LogKeys::Plain), ("hash", LogKeys::Hash)],
        );

        if !vars.problems.is_empty() {
            return Err(ConfigError {
                problems: vars.problems,
            });
        }
        Ok(Config {
            destination_role_arn,
            destination_role_arns,
            max_receive_count,
            verify_current_version: false,
            explain_absence: false,
            external_id,
            destination_bucket,
            metrics_namespace,
            metrics_mode,
            metrics_mode_set,
            alert_topic_arn,
            late_after,
            pending_wait,
            max_concurrency,
            alarm_on_unreplicated,
            deadline_margin,
            source_buckets,
            log_keys,
            alert_cooldown,
        })
    }
}

/// The variables being read, and every problem found in them so far.
struct Variables<F> {
    lookup: F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Variables<F> {
    /// The trimmed value; "" is unset (a CloudFormation parameter left empty).
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// A value of blanks only is a typo worth naming (not the same as unset).
    fn refuse_blanks(&mut self) {
        for name in ALL_VARIABLES {
            if (self.lookup)(name).is_some_and(|v| !v.is_empty() && v.trim().is_empty()) {
                self.problem(format!(
                    "{name} is set but blank: unset it or give it a value"
                ));
            }
        }
    }

    /// One of `options` by its name; unset is the first option.
    fn choice<T: Copy>(&mut self, name: &str, options: &[(&str, T)]) -> T {
        let first = options[0].1;
        let Some(raw) = self.get(name) else {
            return first;
        };
        if let Some((_, value)) = options.iter().find(|(option, _)| *option == raw) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        self.problem(format!(
            "{name}={raw:?}: expected {} or {last}",
            rest.join(", ")
        ));
        first
    }

    /// A whole number within `range`; `None` when unset (or wrong: the problem is kept).
    fn whole<T>(&mut self, name: &str, range: RangeInclusive<T>, expected: &str) -> Option<T>
    where
        T: std::str::FromStr + PartialOrd,
    {
        let raw = self.get(name)?;
        match raw.parse::<T>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.problem(format!("{name}={raw:?}: {expected}"));
                None
            }
        }
    }

    /// Whole seconds from `minimum` to a week.
    fn seconds(&mut self, name: &str, default: u64, minimum: u64) -> Duration {
        Duration::from_secs(
            self.whole(
                name,
                minimum..=7 * 24 * 3600,
                &format!("expected whole seconds from {minimum} to 604800"),
            )
            .unwrap_or(default),
        )
    }

    /// A comma-separated list, its items trimmed, empty items dropped.
    fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|raw| {
            raw.split(',')
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect()
        })
    }
}

/// The default audit role and the per-account ones: role ARNs, one per account.
fn audit_roles<F: Fn(&str) -> Option<String>>(
    vars: &mut Variables<F>,
) -> (Option<String>, Vec<String>) {
    let default_role = vars.get(DESTINATION_ROLE_ARN);
    if let Some(arn) = default_role.as_ref().filter(|arn| !is_role_arn(arn)) {
        vars.problem(format!("{DESTINATION_ROLE_ARN}={arn:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"));
    }
    let per_account = vars.list(DESTINATION_ROLE_ARNS).unwrap_or_default();
    let mut accounts = std::collections::HashSet::new();
    for arn in per_account.iter().chain(&default_role) {
        if !is_role_arn(arn) {
            if Some(arn) != default_role.as_ref() {
                vars.problem(format!("{DESTINATION_ROLE_ARNS}: {arn:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"));
            }
        } else if !accounts.insert(arn.split(':').nth(4).unwrap_or_default().to_string()) {
            vars.problem(format!("{DESTINATION_ROLE_ARNS}: two audit roles for the account of {arn:?}; name one role per destination account"));
        }
    }
    (default_role, per_account)
}

fn destination_bucket<F: Fn(&str) -> Option<String>>(vars: &mut Variables<F>) -> Option<String> {
    let bucket = vars.get(DESTINATION_BUCKET)?;
    if !is_bucket_name(&bucket) {
        vars.problem(format!("{DESTINATION_BUCKET}={bucket:?} is not a valid S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-')"));
    }
    Some(bucket)
}

/// The external id the audit roles' trust policies ask for (IAM's `sts:ExternalId` rules).
fn external_id<F: Fn(&str) -> Option<String>>(
    vars: &mut Variables<F>,
    any_role: bool,
) -> Option<String> {
    let id = vars.get(EXTERNAL_ID)?;
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
    if !(2..=1224).contains(&id.len()) || !valid_chars {
        vars.problem(format!(
            "{EXTERNAL_ID} must be 2–1224 characters of [A-Za-z0-9+=,.@:/_-]"
        ));
    }
    if !any_role {
        vars.problem(format!("{EXTERNAL_ID} is set but no audit role ({DESTINATION_ROLE_ARN} or {DESTINATION_ROLE_ARNS}) is: the external id is only used to assume those roles"));
    }
    Some(id)
}

/// CloudWatch API reference, PutMetricData: ASCII letters, digits, '.', '-', '_', '/', '#',
/// ':' and spaces, at most 255, not AWS/ (reserved for AWS services).
fn metrics_namespace<F: Fn(&str) -> Option<String>>(
    vars: &mut Variables<F>,
    default: String,
) -> String {
    let namespace = vars.get(METRICS_NAMESPACE).unwrap_or(default);
    let valid_chars = namespace
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if namespace.starts_with("AWS/") || namespace.len() > 255 || !valid_chars {
        vars.problem(format!("{METRICS_NAMESPACE}={namespace:?}: CloudWatch takes up to 255 characters of letters, digits, . - _ / # : and spaces, and reserves AWS/"));
    }
    namespace
}

fn alert_topic_arn<F: Fn(&str) -> Option<String>>(vars: &mut Variables<F>) -> Option<String> {
    let arn = vars.get(ALERT_TOPIC_ARN)?;
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[4].len() != 12 {
        vars.problem(format!("{ALERT_TOPIC_ARN}={arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"));
    } else if arn.ends_with(".fifo") {
        vars.problem(format!("{ALERT_TOPIC_ARN}={arn:?} is a FIFO topic, which needs a message group id and is for ordered delivery to SQS only: use a standard topic (e-mail, chat and paging subscriptions need one)"));
    }
    Some(arn)
}

fn source_buckets<F: Fn(&str) -> Option<String>>(vars: &mut Variables<F>) -> Option<Vec<String>> {
    let buckets = vars.list(SOURCE_BUCKETS)?;
    for bucket in buckets.iter().filter(|b| !is_bucket_name(b)) {
        vars.problem(format!(
            "{SOURCE_BUCKETS}: {bucket:?} is not a valid S3 bucket name"
        ));
    }
    if buckets.is_empty() {
        let raw = vars.get(SOURCE_BUCKETS).unwrap_or_default();
        vars.problem(format!("{SOURCE_BUCKETS}={raw:?} names no bucket: list the source buckets to audit, or unset it to audit every bucket an event names"));
    }
    Some(buckets)
}

pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty())
}

/// Whether `name` has the shape of any bucket name S3 ever allowed (3–255 letters, digits,
/// '.', '-', '_'), reserved prefixes included: the test for a name that came from outside
/// (AWS's own sample events use the reserved `amzn-s3-demo-` names).
pub fn looks_like_bucket_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// S3's bucket naming rules (S3 user guide, "General purpose bucket naming rules"): 3–63
/// characters of lowercase letters, digits, '.' and '-', beginning and ending with a letter or
/// digit, no "..", not shaped like an IP address, none of the reserved prefixes and suffixes.
/// Buckets created in us-east-1 before March 2018 may also have uppercase letters and '_' and
/// up to 255 characters ("legacy" names): those exist, so they are accepted too.
pub fn is_bucket_name(name: &str) -> bool {
    let edges_alphanumeric = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let modern = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edges_alphanumeric
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|s| name.ends_with(s));
    let legacy = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && name.chars().any(|c| c.is_ascii_uppercase() || c == '_')
        && edges_alphanumeric;
    modern || legacy
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.metrics_namespace, "S3ReplicationAuditor");
        assert_eq!(config.late_after, Duration::from_secs(900));
    }

    #[test]
    fn a_full_valid_configuration_loads() {
        let config = load(&[
            (
                DESTINATION_ROLE_ARN,
                "arn:aws:iam::222222222222:role/replication-auditor-read",
            ),
            (EXTERNAL_ID, "replication-auditor-local"),
            (DESTINATION_BUCKET, "acme-screenshots-replica"),
            (METRICS_MODE, "emf"),
            (ALERT_TOPIC_ARN, "arn:aws:sns:us-east-1:111111111111:alerts"),
            (LATE_AFTER_SECONDS, "60"),
            (PENDING_WAIT_SECONDS, "0"),
            (MAX_CONCURRENCY, "4"),
            (ALARM_ON_UNREPLICATED, "false"),
        ])
        .unwrap();
        assert_eq!(config.metrics_mode, MetricsMode::Emf);
        assert_eq!(config.max_concurrency, 4);
        assert!(!config.alarm_on_unreplicated);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = load(&[
            (DESTINATION_ROLE_ARN, "my-role"),
            (LATE_AFTER_SECONDS, "fifteen minutes"),
            (MAX_CONCURRENCY, "0"),
            (METRICS_MODE, "xray"),
            (DESTINATION_BUCKET, "bad bucket"),
        ])
        .unwrap_err();
        assert_eq!(error.problems.len(), 5, "{error}");
        let text = error.to_string();
        for name in [
            DESTINATION_ROLE_ARN,
            LATE_AFTER_SECONDS,
            MAX_CONCURRENCY,
            METRICS_MODE,
            DESTINATION_BUCKET,
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }

    #[test]
    fn watched_buckets_and_key_hashing() {
        let config = load(&[(SOURCE_BUCKETS, "a-bucket, b-bucket"), (LOG_KEYS, "hash")]).unwrap();
        assert_eq!(
            config.source_buckets,
            Some(vec!["a-bucket".to_string(), "b-bucket".to_string()])
        );
        assert_eq!(config.log_keys, LogKeys::Hash);
        let error =
            load(&[(SOURCE_BUCKETS, "ok-bucket,not..ok"), (LOG_KEYS, "rot13")]).unwrap_err();
        assert_eq!(error.problems.len(), 2, "{error}");
    }

    #[test]
    fn inside_lambda_the_bucket_allow_list_is_required() {
        let error = load(&[]).unwrap().inside_lambda().unwrap_err();
        assert!(error.to_string().contains(SOURCE_BUCKETS), "{error}");
    }

    #[test]
    fn inside_lambda_nothing_sleeps_and_metrics_default_to_emf() {
        let lambda = load(&[(PENDING_WAIT_SECONDS, "10"), (SOURCE_BUCKETS, "acme-b")])
            .unwrap()
            .inside_lambda()
            .unwrap();
        assert_eq!(lambda.pending_wait, Duration::ZERO);
        assert_eq!(lambda.metrics_mode, MetricsMode::Emf);
        let chosen = load(&[(METRICS_MODE, "cloudwatch"), (SOURCE_BUCKETS, "acme-b")])
            .unwrap()
            .inside_lambda()
            .unwrap();
        assert_eq!(chosen.metrics_mode, MetricsMode::CloudWatch);
        assert_eq!(
            load(&[]).unwrap().metrics_mode,
            MetricsMode::CloudWatch,
            "CLI default"
        );
    }

    #[test]
    fn audit_roles_per_destination_account_and_the_receive_count() {
        let config = load(&[
            (DESTINATION_ROLE_ARN, "arn:aws:iam::222222222222:role/audit"),
            (
                DESTINATION_ROLE_ARNS,
                "arn:aws:iam::333333333333:role/audit, ",
            ),
            (MAX_RECEIVE_COUNT, "5"),
        ])
        .unwrap();
        assert_eq!(config.destination_roles().count(), 2);
        assert_eq!(config.max_receive_count, Some(5));
        let error = load(&[
            (DESTINATION_ROLE_ARN, "arn:aws:iam::222222222222:role/audit"),
            (
                DESTINATION_ROLE_ARNS,
                "arn:aws:iam::222222222222:role/other,not-an-arn",
            ),
            (MAX_RECEIVE_COUNT, "0"),
        ])
        .unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
    }

    #[test]
    fn configuration_that_would_silently_do_nothing_is_an_error() {
        let error = load(&[
            (SOURCE_BUCKETS, ","),
            (LOG_KEYS, "   "),
            (METRICS_NAMESPACE, "Replication Audit!"),
            (
                ALERT_TOPIC_ARN,
                "arn:aws:sns:us-east-1:111111111111:alerts.fifo",
            ),
        ])
        .unwrap_err();
        let text = error.to_string();
        assert_eq!(error.problems.len(), 4, "{text}");
        for expected in ["names no bucket", "blank", "CloudWatch takes", "FIFO"] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
    }

    #[test]
    fn bucket_names_follow_s3s_rules_legacy_us_east_1_names_included() {
        for good in ["acme-screenshots", "a.b-c", "abc", "Legacy_Bucket_2017"] {
            assert!(is_bucket_name(good), "{good}");
        }
        for bad in [
            "ab",
            "-acme",
            "acme..replica",
            "192.168.1.1",
            "xn--acme",
            "acme-s3alias",
            "acme bucket",
            "_legacy",
        ] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
        assert!(is_bucket_name(&"l".repeat(63)) && !is_bucket_name(&"l".repeat(64)));
        assert!(
            is_bucket_name(&format!("L{}", "l".repeat(200))),
            "legacy up to 255"
        );
    }

    #[test]
    fn external_id_without_role_is_a_problem() {
        let error = load(&[(EXTERNAL_ID, "abc")]).unwrap_err();
        assert!(error.problems[0].contains(DESTINATION_ROLE_ARN));
    }
}
