//! Aligned text tables (`pier ps`, `up`'s summary, `pier info`): columns padded
//! to their widest cell, two spaces apart, the last column not padded.

/// Render rows (the first is the header) as aligned lines. Widths count
/// characters, not bytes, so `—` and `•` line up.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_by_characters() {
        let rows = vec![
            vec!["SERVICE".to_string(), "HEALTH".into(), "PORTS".into()],
            vec!["db".to_string(), "—".into(), "—".into()],
            vec![
                "web".to_string(),
                "healthy".into(),
                "127.0.0.1:8080->80/tcp".into(),
            ],
        ];
        assert_eq!(
            table(&rows),
            "SERVICE  HEALTH   PORTS\n\
             db       —        —\n\
             web      healthy  127.0.0.1:8080->80/tcp\n"
        );
    }
}
