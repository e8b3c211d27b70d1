//! What the subcommands' flags share: the output format and the check of a bucket name.

use clap::ValueEnum;

/// `--output`: JSON for programs, a table for people.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Output {
    Json,
    Table,
}

/// A bucket name S3 would refuse, named with its flag (`None` when it is valid).
pub(crate) fn bucket_name_problem(flag: &str, bucket: &str) -> Option<String> {
    (!crate::config::is_bucket_name(bucket)).then(|| {
        format!("{flag} {bucket:?} is not a valid S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-')")
    })
}
