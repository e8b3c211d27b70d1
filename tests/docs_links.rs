//! The documentation holds together: README.md is a short map (at most 300 lines) and every
//! relative link in it and in `docs/*.md` leads somewhere — the file exists, and a `#anchor` into
//! a markdown file names one of its headings (GitHub's slugs). Every file in `docs/` is linked
//! from the README or from another page, so nothing written there is unreachable.
//!
//! Links are read outside fenced code blocks and inline code spans; `http(s)://` and `mailto:`
//! targets are not checked (no network in tests).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const README_MAX_LINES: usize = 300;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every `docs/*.md`, as paths relative to the repository root.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    files.extend(
        docs_files()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    files
}

/// Every file directly in `docs/` (relative to the repository root), sorted.
fn docs_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/ is readable")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|p| p.is_file())
        .map(|p| PathBuf::from("docs").join(p.file_name().expect("file name")))
        .collect();
    files.sort();
    files
}

fn read(relative: &Path) -> String {
    fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", relative.display()))
}

/// The lines of a markdown text outside fenced code blocks (``` or ~~~), with their numbers
/// (1-based).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match fence {
            Some(marker) => {
                if trimmed.starts_with(marker) {
                    fence = None;
                }
            }
            None => {
                if trimmed.starts_with("```") {
                    fence = Some("```");
                } else if trimmed.starts_with("~~~") {
                    fence = Some("~~~");
                } else {
                    lines.push((index + 1, line));
                }
            }
        }
    }
    lines
}

/// A line with its inline code spans removed (`` `a](b)` `` is code, not a link). An unmatched
/// backtick run is kept as it is.
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let mut run = 0;
            while i + run < chars.len() && chars[i + run] == '`' {
                run += 1;
            }
            // Look for a closing run of the same length.
            let mut j = i + run;
            let mut closed = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let mut other = 0;
                    while j + other < chars.len() && chars[j + other] == '`' {
                        other += 1;
                    }
                    if other == run {
                        closed = Some(j + other);
                        break;
                    }
                    j += other;
                } else {
                    j += 1;
                }
            }
            match closed {
                Some(end) => i = end,
                None => {
                    out.extend(&chars[i..i + run]);
                    i += run;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Every markdown link target `](target)` on a line (already without code spans): balanced
/// parentheses inside the target are allowed; a title (`"..."`) and `<...>` are dropped.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let mut depth = 1;
        let mut end = None;
        for (offset, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(offset);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let raw = after[..end].trim();
        let raw = match raw.strip_prefix('<') {
            Some(inner) => inner.split('>').next().unwrap_or(""),
            None => raw.split_whitespace().next().unwrap_or(""),
        };
        if !raw.is_empty() {
            targets.push(raw.to_string());
        }
        rest = &after[end + 1..];
    }
    targets
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// GitHub's heading anchor: lowercase, every character that is not a letter, a digit, a space,
/// `-` or `_` dropped, spaces turned into `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text of a heading as GitHub renders it before slugging: `[text](url)` becomes `text`.
fn heading_text(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(paren) = rest[close + 2..].find(')').map(|i| close + 2 + i) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[paren + 1..];
    }
    out.push_str(rest);
    out.trim_end_matches('#').trim().to_string()
}

/// Every heading anchor of a markdown text, with GitHub's `-1`, `-2` … for repeated headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || line.len() - trimmed.len() > 3 {
            continue;
        }
        let rest = &trimmed[hashes..];
        if !(rest.is_empty() || rest.starts_with(' ')) {
            continue;
        }
        let base = slug(&heading_text(rest));
        let count = seen.entry(base.clone()).or_insert(0);
        let anchor = if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        anchors.insert(anchor);
    }
    anchors
}

/// `a/b/../c` → `a/c` without touching the file system (for naming files that may not exist).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

struct Link {
    from: PathBuf,
    line: usize,
    target: String,
}

fn relative_links() -> Vec<Link> {
    let mut links = Vec::new();
    for file in markdown_files() {
        let text = read(&file);
        for (line, content) in prose_lines(&text) {
            for target in link_targets(&without_code_spans(content)) {
                if !is_external(&target) {
                    links.push(Link {
                        from: file.clone(),
                        line,
                        target,
                    });
                }
            }
        }
    }
    links
}

/// The file a link leads to (relative to the repository root) and its anchor, if any.
fn resolve(link: &Link) -> (PathBuf, Option<String>) {
    let (path, anchor) = match link.target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_string())),
        None => (link.target.as_str(), None),
    };
    let file = if path.is_empty() {
        link.from.clone()
    } else {
        let dir = link.from.parent().unwrap_or(Path::new(""));
        normalise(&dir.join(path))
    };
    (file, anchor)
}

#[test]
fn readme_is_a_short_map() {
    let lines = read(Path::new("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into docs/"
    );
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let links = relative_links();
    assert!(
        links.len() >= 10,
        "only {} relative links found: the link reader is broken",
        links.len()
    );
    let mut problems = Vec::new();
    for link in &links {
        let (file, anchor) = resolve(link);
        let at = format!("{}:{}: ({})", link.from.display(), link.line, link.target);
        let full = root().join(&file);
        if !full.exists() {
            problems.push(format!(
                "{at} names {}, which does not exist",
                file.display()
            ));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if file.extension().is_some_and(|e| e == "md") {
            let known = anchors(&read(&file));
            if !known.contains(&anchor.to_lowercase()) {
                problems.push(format!(
                    "{at}: {} has no heading with the anchor #{anchor} (its anchors: {})",
                    file.display(),
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_file_in_docs_is_linked_from_the_readme_or_another_page() {
    let mut linked: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for link in relative_links() {
        let (file, _) = resolve(&link);
        linked.entry(file).or_default().insert(link.from);
    }
    let orphans: Vec<String> = docs_files()
        .into_iter()
        .filter(|doc| {
            linked
                .get(doc)
                .is_none_or(|from| from.iter().all(|source| source == doc))
        })
        .map(|doc| doc.display().to_string())
        .collect();
    assert!(
        orphans.is_empty(),
        "linked from neither README.md nor another page of docs/: {}",
        orphans.join(", ")
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Two commands"), "two-commands");
    assert_eq!(
        slug("`reconcile`: two S3 Inventory reports instead of a HEAD per object"),
        "reconcile-two-s3-inventory-reports-instead-of-a-head-per-object"
    );
    assert_eq!(
        slug("Reconciling existing objects: `make bench-reconcile`"),
        "reconciling-existing-objects-make-bench-reconcile"
    );
    assert_eq!(
        slug("1. Who can feed the auditor"),
        "1-who-can-feed-the-auditor"
    );
    assert_eq!(slug("snake_case stays"), "snake_case-stays");
    assert_eq!(
        slug("What S3 shows → what the auditor says"),
        "what-s3-shows--what-the-auditor-says"
    );
    assert_eq!(
        heading_text(" See [the docs](docs/x.md) ##"),
        "See the docs"
    );
    let repeated = anchors("# A\n## A\n```\n# not a heading\n```\n### A\n");
    assert_eq!(
        repeated,
        ["a", "a-1", "a-2"].into_iter().map(String::from).collect()
    );
}

#[test]
fn links_are_read_outside_code() {
    assert_eq!(
        link_targets(&without_code_spans(
            "see [`x.md`](x.md#a) and `[no](code.md)`"
        )),
        vec!["x.md#a".to_string()]
    );
    assert_eq!(
        link_targets("[a](<b c.md> \"title\") [d](e_(f).md)"),
        vec!["b c.md".to_string(), "e_(f).md".to_string()]
    );
    let text = "[a](a.md)\n```sh\n[b](b.md)\n```\n[c](c.md)\n";
    let found: Vec<String> = prose_lines(text)
        .into_iter()
        .flat_map(|(_, l)| link_targets(l))
        .collect();
    assert_eq!(found, vec!["a.md".to_string(), "c.md".to_string()]);
    assert!(is_external("https://docs.aws.amazon.com/x"));
    assert!(is_external("mailto:ops@example.com"));
    assert!(!is_external("docs/world.md"));
    assert_eq!(
        normalise(Path::new("docs/../README.md")),
        PathBuf::from("README.md")
    );
}
