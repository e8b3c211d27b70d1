//! `doctor`: checks a cross-account replication setup before the first object fails.
//!
//! Every check is a named row with a status (PASS / WARN / FAIL), what was found and the exact
//! fix with the real names filled in. FAIL is for what stops or silently breaks replication,
//! WARN for what is risky, redundant or cannot be decided from what doctor can read.
//!
//! - [`policy`] parses and evaluates IAM policy documents (pure);
//! - [`checks`] diagnoses the documents of one pair — destination bucket policy, replication role
//!   policies, trust policy — and is the one code path both modes use;
//! - [`offline`] lints documents a person is about to paste (no AWS access);
//! - [`live`] judges the configuration read from both accounts (read by `crate::aws::doctor`);
//! - [`schedule`] is the drift check the Lambda runs on a schedule: metric, alert, response.

pub mod checks;
pub mod documents;
pub mod live;
pub mod offline;
pub mod pair;
pub mod placeholders;
pub mod policy;
pub mod principals;
pub mod role;
pub mod schedule;

use serde::Serialize;
use std::fmt::Write as _;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, e.g. `destination-policy.principal`.
    pub name: &'static str,
    /// What it was checked on (a bucket, a role, a rule).
    pub subject: String,
    pub status: Status,
    /// What doctor found, in words.
    pub found: String,
    /// The exact fix (a statement, a document, a command), when there is something to fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn new(
        name: &'static str,
        subject: impl Into<String>,
        status: Status,
        found: impl Into<String>,
    ) -> Self {
        Self {
            name,
            subject: subject.into(),
            status,
            found: found.into(),
            fix: None,
        }
    }

    pub fn pass(name: &'static str, subject: impl Into<String>, found: impl Into<String>) -> Self {
        Self::new(name, subject, Status::Pass, found)
    }

    pub fn warn(name: &'static str, subject: impl Into<String>, found: impl Into<String>) -> Self {
        Self::new(name, subject, Status::Warn, found)
    }

    pub fn fail(name: &'static str, subject: impl Into<String>, found: impl Into<String>) -> Self {
        Self::new(name, subject, Status::Fail, found)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Everything doctor found, plus what it could not read (which makes the run exit 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Reads that were refused or failed: doctor is partly blind, and says which permission.
    pub access_problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        Summary {
            pass: count(Status::Pass),
            warn: count(Status::Warn),
            fail: count(Status::Fail),
        }
    }

    /// 2 when doctor could not read something, else 1 on any FAIL, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.access_problems.is_empty() {
            2
        } else if self.checks.iter().any(|c| c.status == Status::Fail) {
            1
        } else {
            0
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "checks": self.checks,
            "summary": self.summary(),
            "access_problems": self.access_problems,
        })
    }

    /// For people: one line per check, the fix indented under it.
    pub fn to_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .checks
            .iter()
            .map(|check| {
                vec![
                    check.status.as_str().to_string(),
                    check.name.to_string(),
                    check.subject.clone(),
                    check.found.clone(),
                ]
            })
            .collect();
        let mut out = String::new();
        for (check, line) in self.checks.iter().zip(crate::table::aligned(&rows)) {
            let _ = writeln!(out, "{line}");
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "      fix:");
                for line in fix.lines() {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        for problem in &self.access_problems {
            let _ = writeln!(out, "ERROR {problem}");
        }
        let summary = self.summary();
        let _ = writeln!(
            out,
            "{} FAIL, {} WARN, {} PASS{}",
            summary.fail,
            summary.warn,
            summary.pass,
            if self.access_problems.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} read(s) refused: doctor could not check everything",
                    self.access_problems.len()
                )
            }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_worst_line_and_access_problems_win() {
        let mut report = Report::default();
        assert_eq!(report.exit_code(), 0);
        report.checks.push(Check::warn("a", "b", "risky"));
        assert_eq!(report.exit_code(), 0);
        report
            .checks
            .push(Check::fail("a", "b", "broken").with_fix("do this"));
        assert_eq!(report.exit_code(), 1);
        report
            .access_problems
            .push("grant s3:GetBucketPolicy".into());
        assert_eq!(report.exit_code(), 2);
        let table = report.to_table();
        assert!(
            table.contains("FAIL  a  b  broken\n      fix:\n        do this\n"),
            "{table}"
        );
        assert!(table.contains("1 FAIL, 1 WARN, 0 PASS"), "{table}");
        assert_eq!(report.to_json()["summary"]["fail"], 1);
    }
}
