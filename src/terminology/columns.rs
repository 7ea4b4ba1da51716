//! Finds the code, name and alias columns of a grid (CSV, TSV, xlsx) and
//! turns its data rows into [`RawRow`]s.
//!
//! A first row without any code in it is a header. Columns named on the
//! command line are matched against the header (case-insensitive) or taken
//! as 1-based numbers. Otherwise header names decide (`code`, `编码`,
//! `gl3_code`…; `name`, `名称`, `name_best_available`…), and without a
//! usable header the column holding the most codes of the table's system
//! is the code column and the most text-like other column the name.

use std::path::Path;

use super::csv_table::GridRow;
use super::load::ColumnSpec;
use super::raw::{clean_field, RawRow, RawTable};
use super::shape::{check_code, system_of};
use super::CodeSystem;
use crate::error::{Error, Location, Result};

const CODE_EXACT: &[&str] = &[
    "code",
    "编码",
    "代码",
    "icd",
    "icd10",
    "icd-10",
    "icd编码",
    "icd代码",
    "icd-10编码",
    "icd-9-cm-3",
    "icd9",
    "icd-9",
    "疾病编码",
    "疾病代码",
    "诊断编码",
    "诊断代码",
    "手术编码",
    "手术代码",
    "手术操作编码",
    "手术操作代码",
    "操作编码",
];
const NAME_EXACT: &[&str] = &[
    "name",
    "名称",
    "疾病名称",
    "诊断名称",
    "手术名称",
    "手术操作名称",
    "操作名称",
    "中文名称",
    "name_best_available",
    "description",
    "title",
    "term",
    "disease",
    "诊断",
    "疾病",
];
const ALIAS_EXACT: &[&str] = &[
    "alias",
    "aliases",
    "别名",
    "同义词",
    "synonym",
    "synonyms",
    "english",
    "英文名",
    "英文名称",
];

fn header_key(s: &str) -> String {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_lowercase()
        .replace(' ', "")
}

fn code_score(h: &str) -> u32 {
    if CODE_EXACT.contains(&h) {
        100
    } else if h.ends_with("_code") || h.ends_with("编码") || h.ends_with("代码") {
        50
    } else if h.contains("code") || h.contains("编码") || h.contains("代码") {
        10
    } else {
        0
    }
}

fn name_score(h: &str) -> u32 {
    if NAME_EXACT.contains(&h) {
        100
    } else if h.ends_with("_name") || h.ends_with("名称") {
        50
    } else if h.starts_with("name") || h.contains("名称") {
        10
    } else {
        0
    }
}

/// Highest-scoring column, leftmost on ties; `None` if every score is 0.
fn best(header: &[String], skip: &[usize], score: impl Fn(&str) -> u32) -> Option<usize> {
    let mut best: Option<(u32, usize)> = None;
    for (i, h) in header.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let s = score(&header_key(h));
        if s > 0 && best.is_none_or(|(bs, _)| s > bs) {
            best = Some((s, i));
        }
    }
    best.map(|(_, i)| i)
}

struct Resolved {
    code: usize,
    name: usize,
    aliases: Vec<usize>,
    header: Option<Vec<String>>,
}

fn col_label(header: Option<&Vec<String>>, i: usize) -> String {
    match header.and_then(|h| h.get(i)) {
        Some(h) if !h.is_empty() => format!("'{h}' (column {})", i + 1),
        _ => format!("column {}", i + 1),
    }
}

/// Turns a grid into raw rows using `spec` or detection.
pub(crate) fn rows_from_grid(
    path: &Path,
    grid: Vec<GridRow>,
    spec: &ColumnSpec,
    system: CodeSystem,
) -> Result<RawTable> {
    let Some(first) = grid.first() else {
        return Err(Error::invalid(
            Location::file(path),
            "the table has no rows",
        ));
    };
    let has_header = !first.1.iter().any(|c| system_of(c).is_some());
    let (header, data) = if has_header {
        (Some(first.1.clone()), &grid[1..])
    } else {
        (None, &grid[..])
    };
    if data.is_empty() {
        return Err(Error::invalid(
            Location::file(path),
            "no data rows (only a header row)",
        ));
    }
    let width = grid.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let r = resolve(path, header, data, width, spec, system)?;

    let notes = vec![format!(
        "{}; code column {}, name column {}{}",
        if r.header.is_some() {
            "header row"
        } else {
            "no header row"
        },
        col_label(r.header.as_ref(), r.code),
        col_label(r.header.as_ref(), r.name),
        if r.aliases.is_empty() {
            String::new()
        } else {
            let a: Vec<String> = r
                .aliases
                .iter()
                .map(|&i| col_label(r.header.as_ref(), i))
                .collect();
            format!(", alias columns {}", a.join(", "))
        }
    )];
    fn cell(cells: &[String], i: usize) -> &str {
        cells.get(i).map(String::as_str).unwrap_or("")
    }
    let mut rows = Vec::with_capacity(data.len());
    for (line, cells) in data {
        let mut row = RawRow::new(
            *line,
            clean_field(cell(cells, r.code)),
            clean_field(cell(cells, r.name)),
        );
        for &a in &r.aliases {
            row.aliases.extend(
                cell(cells, a)
                    .split(['|', ';', '；'])
                    .map(clean_field)
                    .filter(|s| !s.is_empty()),
            );
        }
        rows.push(row);
    }
    Ok(RawTable { rows, notes })
}

fn resolve(
    path: &Path,
    header: Option<Vec<String>>,
    data: &[GridRow],
    width: usize,
    spec: &ColumnSpec,
    system: CodeSystem,
) -> Result<Resolved> {
    let find = |wanted: &str, what: &str| -> Result<usize> {
        let key = header_key(wanted);
        if let Some(h) = &header {
            if let Some(i) = h.iter().position(|c| header_key(c) == key) {
                return Ok(i);
            }
        }
        if let Ok(n) = wanted.trim().parse::<usize>() {
            if n >= 1 && n <= width {
                return Ok(n - 1);
            }
        }
        let known = match &header {
            Some(h) => format!("columns are: {}", h.join(", ")),
            None => format!("the file has no header row and {width} columns"),
        };
        Err(Error::invalid(
            Location::file(path).field(wanted),
            format!("no {what} column named '{wanted}'; {known}"),
        ))
    };

    let sample: Vec<&Vec<String>> = data.iter().take(200).map(|(_, c)| c).collect();
    let code_counts: Vec<usize> = (0..width)
        .map(|i| {
            sample
                .iter()
                .filter(|c| c.get(i).is_some_and(|v| check_code(system, v).is_ok()))
                .count()
        })
        .collect();

    let code = match &spec.code {
        Some(c) => find(c, "code")?,
        None => {
            let by_header = header.as_ref().and_then(|h| best(h, &[], code_score));
            let by_content = (0..width)
                .filter(|&i| code_counts[i] > 0)
                .max_by_key(|&i| (code_counts[i], std::cmp::Reverse(i)));
            match (by_header, by_content) {
                // a header keyword wins unless its column holds no codes at all
                (Some(h), Some(c)) if code_counts[h] == 0 => c,
                (Some(h), _) if code_counts[h] > 0 => h,
                (None, Some(c)) if code_counts[c] * 10 >= sample.len() * 3 => c,
                _ => {
                    return Err(no_code_column(path, &sample, width, system));
                }
            }
        }
    };

    let name = match &spec.name {
        Some(n) => find(n, "name")?,
        None => {
            let by_header = header.as_ref().and_then(|h| best(h, &[code], name_score));
            match by_header {
                Some(i) => i,
                None => text_column(&sample, width, code, system).ok_or_else(|| {
                    Error::invalid(
                        Location::file(path),
                        "cannot find a name column next to the codes; name it with --name-col",
                    )
                })?,
            }
        }
    };
    if name == code {
        return Err(Error::invalid(
            Location::file(path),
            format!("code and name are the same column ({})", code + 1),
        ));
    }

    let aliases = if spec.aliases.is_empty() {
        header
            .as_ref()
            .map(|h| {
                (0..h.len())
                    .filter(|&i| i != code && i != name)
                    .filter(|&i| ALIAS_EXACT.contains(&header_key(&h[i]).as_str()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        spec.aliases
            .iter()
            .map(|a| find(a, "alias"))
            .collect::<Result<Vec<_>>>()?
    };
    Ok(Resolved {
        code,
        name,
        aliases,
        header,
    })
}

/// The other column with the most non-code text, CJK preferred.
fn text_column(
    sample: &[&Vec<String>],
    width: usize,
    code: usize,
    system: CodeSystem,
) -> Option<usize> {
    (0..width)
        .filter(|&i| i != code)
        .map(|i| {
            let score: usize = sample
                .iter()
                .filter_map(|c| c.get(i))
                .filter(|v| !v.is_empty() && check_code(system, v).is_err())
                .map(|v| if crate::text::has_cjk(v) { 2 } else { 1 })
                .sum();
            (i, score)
        })
        .filter(|&(_, s)| s > 0)
        .max_by_key(|&(i, s)| (s, std::cmp::Reverse(i)))
        .map(|(i, _)| i)
}

fn no_code_column(path: &Path, sample: &[&Vec<String>], width: usize, system: CodeSystem) -> Error {
    let other = match system {
        CodeSystem::Icd10 => CodeSystem::Icd9Cm3,
        CodeSystem::Icd9Cm3 => CodeSystem::Icd10,
    };
    let other_hits = (0..width).any(|i| {
        sample
            .iter()
            .filter(|c| c.get(i).is_some_and(|v| check_code(other, v).is_ok()))
            .count()
            * 2
            > sample.len()
    });
    let hint = if other_hits {
        format!(
            " — its codes look like {} codes: is --system right?",
            system_name(other)
        )
    } else {
        String::new()
    };
    Error::invalid(
        Location::file(path),
        format!(
            "no column holds {} codes; name it with --code-col{hint}",
            system_name(system)
        ),
    )
}

pub(crate) fn system_name(s: CodeSystem) -> &'static str {
    match s {
        CodeSystem::Icd10 => "ICD-10",
        CodeSystem::Icd9Cm3 => "ICD-9-CM-3",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<GridRow> {
        rows.iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn header_names_pick_columns() {
        let g = grid(&[
            &["code", "name", "code_raw", "name_raw", "kind", "yb2_code"],
            &["A00.000", "霍乱", "", "", "disease", "A00.000"],
        ]);
        let t =
            rows_from_grid(Path::new("t"), g, &ColumnSpec::default(), CodeSystem::Icd10).unwrap();
        assert_eq!(
            (t.rows[0].code.as_str(), t.rows[0].name.as_str()),
            ("A00.000", "霍乱")
        );
        let g = grid(&[
            &[
                "gl3_code",
                "name_best_available",
                "name_source",
                "yb2_code",
                "yb2_name",
            ],
            &["00.0100", "头和颈部血管治疗性超声", "x", "00.0100", "y"],
        ]);
        let t = rows_from_grid(
            Path::new("t"),
            g,
            &ColumnSpec::default(),
            CodeSystem::Icd9Cm3,
        )
        .unwrap();
        assert_eq!(t.rows[0].name, "头和颈部血管治疗性超声");
    }

    #[test]
    fn no_header_detects_by_content() {
        let g = grid(&[&["霍乱", "A00.900", "x"], &["伤寒", "A01.000", "y"]]);
        let t =
            rows_from_grid(Path::new("t"), g, &ColumnSpec::default(), CodeSystem::Icd10).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            (t.rows[1].code.as_str(), t.rows[1].name.as_str()),
            ("A01.000", "伤寒")
        );
    }

    #[test]
    fn explicit_columns_and_errors() {
        let g = grid(&[
            &["编号", "诊断编码", "诊断名称", "别名"],
            &["1", "I10.x00", "高血压", "高血压病|原发性高血压"],
        ]);
        let spec = ColumnSpec {
            code: Some("诊断编码".into()),
            name: Some("3".into()),
            aliases: vec!["别名".into()],
        };
        let t = rows_from_grid(Path::new("t"), g.clone(), &spec, CodeSystem::Icd10).unwrap();
        assert_eq!(t.rows[0].aliases, ["高血压病", "原发性高血压"]);
        let bad = ColumnSpec {
            code: Some("icd".into()),
            ..Default::default()
        };
        let e = rows_from_grid(Path::new("t"), g, &bad, CodeSystem::Icd10).unwrap_err();
        assert!(e.to_string().contains("columns are: 编号, 诊断编码"), "{e}");
        let wrong = grid(&[&["a", "b"], &["36.0700", "x"]]);
        let e = rows_from_grid(
            Path::new("t"),
            wrong,
            &ColumnSpec::default(),
            CodeSystem::Icd10,
        )
        .unwrap_err();
        assert!(e.to_string().contains("is --system right"), "{e}");
    }
}
