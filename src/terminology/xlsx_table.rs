//! Spreadsheets (xlsx, xls, ods) → a grid of trimmed cells.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader, Sheets};

use super::csv_table::GridRow;
use super::CodeSystem;
use crate::error::{Error, Location, Result};

/// Reads one sheet: `sheet` by name or 1-based number, default the first.
/// Returns the grid, the sheet name and how many numeric cells were seen.
pub(crate) fn read_sheet(
    path: &Path,
    sheet: Option<&str>,
    system: CodeSystem,
) -> Result<(Vec<GridRow>, String, usize)> {
    if let Ok(file) = std::fs::File::open(path) {
        crate::limits::check_workbook_zip(std::io::BufReader::new(file))
            .map_err(|m| Error::invalid(Location::file(path), m))?;
    }
    let mut wb = open_workbook_auto(path).map_err(|e| match e {
        calamine::Error::Io(io) => Error::io(path, io),
        other => Error::invalid(
            Location::file(path),
            format!("not a readable spreadsheet: {other}"),
        ),
    })?;
    let names = wb.sheet_names();
    if names.is_empty() {
        return Err(Error::invalid(
            Location::file(path),
            "workbook has no sheets",
        ));
    }
    let name = match sheet {
        None => names[0].clone(),
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .or_else(|| {
                s.parse::<usize>()
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| names.get(i).cloned())
            })
            .ok_or_else(|| {
                Error::invalid(
                    Location::file(path).field(s),
                    format!("no such sheet; sheets are: {}", names.join(", ")),
                )
            })?,
    };
    let range = match &mut wb {
        Sheets::Xlsx(x) => crate::limits::xlsx_sheet(x, &name),
        other => other.worksheet_range(&name).map_err(|e| e.to_string()),
    }
    .map_err(|e| {
        Error::invalid(
            Location::file(path).field(name.clone()),
            format!("cannot read sheet: {e}"),
        )
    })?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut numeric = 0;
    let mut grid = Vec::new();
    for (i, row) in range.rows().enumerate() {
        // keep column positions absolute so "column 1" means column A
        let mut cells = vec![String::new(); first_col];
        for cell in row {
            if matches!(cell, Data::Float(_) | Data::Int(_)) {
                numeric += 1;
            }
            cells.push(cell_text(cell, system));
        }
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        grid.push((first_row + i + 1, cells));
    }
    Ok((grid, name, numeric))
}

/// Text of a cell. Numbers in an ICD-9-CM-3 table are procedure codes that
/// lost their trailing zero (`36.1` typed for `36.10`): one decimal is
/// widened to two. ICD-10 codes cannot be numbers.
fn cell_text(cell: &Data, system: CodeSystem) -> String {
    match cell {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            cell_text(&Data::Int(*f as i64), system)
        }
        Data::Float(f) => {
            let s = format!("{f}");
            let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
            if system == CodeSystem::Icd9Cm3 && decimals == 1 {
                format!("{f:.2}")
            } else {
                s
            }
        }
        Data::Int(i) if system == CodeSystem::Icd9Cm3 && (0..10).contains(i) => format!("{i:02}"),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_procedure_cells() {
        assert_eq!(cell_text(&Data::Float(36.1), CodeSystem::Icd9Cm3), "36.10");
        assert_eq!(cell_text(&Data::Float(36.07), CodeSystem::Icd9Cm3), "36.07");
        assert_eq!(cell_text(&Data::Float(36.0), CodeSystem::Icd9Cm3), "36");
        assert_eq!(cell_text(&Data::Int(5), CodeSystem::Icd9Cm3), "05");
        assert_eq!(cell_text(&Data::Float(5.0), CodeSystem::Icd9Cm3), "05");
        assert_eq!(
            cell_text(&Data::String(" 霍乱 ".into()), CodeSystem::Icd10),
            "霍乱"
        );
    }
}
