//! Plain-text tables for people (`--output table`): the one renderer of `invoke`/`check`,
//! `doctor` and `reconcile`.

/// One line per row: every column but the last padded to its widest cell (counted in
/// characters) plus two spaces; the last column as it is.
pub fn aligned(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.saturating_sub(1))
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if let Some(width) = widths.get(c).filter(|_| c + 1 < row.len()) {
                    line.push_str(&" ".repeat(width - cell.chars().count() + 2));
                }
            }
            line
        })
        .collect()
}

/// The non-zero counts, in the order given: "replicated 3, failed 1" (`None` when all are 0).
pub fn counts<'a>(counts: impl IntoIterator<Item = (&'a str, u64)>) -> Option<String> {
    let counts: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    (!counts.is_empty()).then(|| counts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_in_characters_and_the_last_is_left_alone() {
        let rows = vec![
            vec!["PASS".into(), "a → b".into(), "ok".into()],
            vec!["FAIL".into(), "longer".into(), "not ok at all".into()],
        ];
        assert_eq!(
            aligned(&rows),
            vec!["PASS  a → b   ok", "FAIL  longer  not ok at all"]
        );
        assert_eq!(
            counts([("a", 0), ("b", 2), ("c", 1)]).as_deref(),
            Some("b 2, c 1")
        );
        assert_eq!(counts([("a", 0)]), None);
    }
}
