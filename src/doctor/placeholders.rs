//! Example values of a how-to pasted without being replaced (`ACCOUNT_A_ID`, `<...>`, AWS's
//! documentation account ids).

use super::pair::Pair;
use super::Check;

/// Markers that a how-to's example value was pasted without being replaced.
const PLACEHOLDERS: &[&str] = &[
    "ACCOUNT_A_ID",
    "ACCOUNT_B_ID",
    "ACCOUNT-A-ID",
    "ACCOUNT-B-ID",
    "SOURCE_ACCOUNT_ID",
    "DESTINATION_ACCOUNT_ID",
    "ACCOUNT_ID",
    "ACCOUNT-ID",
    "yourname",
    "your-bucket",
    "YOUR_",
    "DOC-EXAMPLE",
    "amzn-s3-demo",
    "example-bucket",
];

/// Example account ids from the AWS documentation.
const DOCUMENTATION_ACCOUNTS: &[&str] = &["123456789012", "111122223333", "444455556666"];

/// Placeholders left in a document, as written (empty when there are none).
pub fn placeholders(text: &str, pair: &Pair) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut found: Vec<String> = PLACEHOLDERS
        .iter()
        .filter(|marker| lower.contains(&marker.to_ascii_lowercase()))
        .map(|marker| marker.to_string())
        .collect();
    // Other ACCOUNT_…_ID spellings are caught by the `_ID` ending of an upper-case word.
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.len() > 3
            && word.ends_with("_ID")
            && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && !found.iter().any(|f| word.contains(f.as_str()))
        {
            found.push(word.to_string());
        }
    }
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        found.push(rest[start..start + len + 1].to_string());
        rest = &rest[start + len + 1..];
    }
    for id in DOCUMENTATION_ACCOUNTS {
        if text.contains(id) && *id != pair.source_account && *id != pair.destination_account {
            found.push(format!(
                "{id} (an example account id from the AWS documentation)"
            ));
        }
    }
    found.sort();
    found.dedup();
    found
}

pub(super) fn placeholders_check(
    name: &'static str,
    subject: &str,
    text: &str,
    pair: &Pair,
) -> Check {
    let found = placeholders(text, pair);
    if found.is_empty() {
        Check::pass(name, subject, "no placeholders left in")
    } else {
        Check::fail(
            name,
            subject,
            format!(
                "placeholders left in: {}; replace them with the real values (account A {}, account B {}, buckets {} and {})",
                found.join(", "),
                pair.source_account,
                pair.destination_account,
                pair.source_bucket,
                pair.destination_bucket
            ),
        )
    }
}
