//! Result tables: named rows of typed cells, written as tidy CSV.
//!
//! A table is one observation per row and one variable per column. Its
//! columns are fixed by the first row (or declared up front) and every later
//! row must have exactly those columns: a missing or extra column is an error
//! naming it, because a silently empty cell in a result file is a bug that
//! surfaces only when someone plots it. An explicitly empty cell is allowed
//! ([`Cell::Empty`], `()` in a script).
//!
//! Numbers are written deterministically: integers as integers, floats with
//! Rust's shortest round-trip formatting (`0.1`, `2`, `1234.5678`, `NaN`,
//! `inf`), never in a locale- or platform-dependent way.

use std::fmt;
use thiserror::Error;

/// Largest number of rows a table may hold.
pub const MAX_ROWS: usize = 10_000_000;
/// Largest number of columns a table may have.
pub const MAX_COLUMNS: usize = 10_000;
/// Longest column name.
pub const MAX_COLUMN_NAME: usize = 128;

/// One value of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean, written `true` / `false`.
    Bool(bool),
    /// Text (quoted by the CSV writer when needed).
    Text(String),
    /// An empty cell.
    Empty,
}

impl Cell {
    /// The value as a float, for numeric cells.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Significant digits a float cell is written with: a sum or mean of
/// simulated numbers carries binary rounding noise beyond this
/// (`130.40142360000002`), never information (durations are whole
/// nanoseconds; 12 digits keep them exactly up to 1000 s).
pub const SIGNIFICANT_DIGITS: usize = 12;

/// A float rounded to [`SIGNIFICANT_DIGITS`], written in its shortest form.
pub struct Significant(pub f64);

impl fmt::Display for Significant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if !x.is_finite() || x == 0.0 {
            return write!(f, "{x}");
        }
        let rounded: f64 = format!("{:.*e}", SIGNIFICANT_DIGITS - 1, x)
            .parse()
            .unwrap_or(x);
        write!(f, "{rounded}")
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{}", Significant(*x)),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Text(s) => f.write_str(s),
            Cell::Empty => Ok(()),
        }
    }
}

/// A row that does not fit its table, or a table that cannot be written.
#[derive(Debug, Error, PartialEq)]
pub enum TableError {
    /// A column name that is not a plain identifier.
    #[error("column name \"{0}\" is not allowed: use letters, digits and underscores, starting with a letter or underscore (at most {MAX_COLUMN_NAME} characters), like \"latency_p99_ms\"")]
    BadColumnName(String),
    /// The same column twice in a declaration.
    #[error("column \"{0}\" is declared twice")]
    DuplicateColumn(String),
    /// A row without a column the table has.
    #[error("row {row} of table \"{table}\" has no column \"{column}\"; every row needs the same columns: {columns} (use () for an empty cell)")]
    MissingColumn {
        /// The table.
        table: String,
        /// 1-based row number.
        row: usize,
        /// The missing column.
        column: String,
        /// All columns.
        columns: String,
    },
    /// A row with a column the table does not have.
    #[error("row {row} of table \"{table}\" has column \"{column}\", which the table does not have; its columns are: {columns}")]
    ExtraColumn {
        /// The table.
        table: String,
        /// 1-based row number.
        row: usize,
        /// The extra column.
        column: String,
        /// All columns.
        columns: String,
    },
    /// Too many rows or columns.
    #[error("table \"{table}\" would have more than {limit} {what}")]
    TooLarge {
        /// The table.
        table: String,
        /// The limit.
        limit: usize,
        /// `rows` or `columns`.
        what: &'static str,
    },
    /// Nothing to write.
    #[error("table \"{0}\" has no rows and no declared columns, so there is nothing to save; add a row or declare its columns with table(name, [columns])")]
    Empty(String),
    /// The CSV writer failed (it writes to memory, so this is unexpected).
    #[error("cannot format table \"{0}\" as CSV: {1}")]
    Csv(String, String),
}

/// Checks a column name: an identifier of letters, digits and underscores.
pub fn check_column_name(name: &str) -> Result<(), TableError> {
    let mut chars = name.chars();
    let ok = name.len() <= MAX_COLUMN_NAME
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(TableError::BadColumnName(name.to_string()))
    }
}

/// A named table of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table whose columns the first row will fix.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// An empty table with declared columns, in this order.
    pub fn with_columns(name: impl Into<String>, columns: Vec<String>) -> Result<Self, TableError> {
        let mut t = Table::new(name);
        t.declare(columns)?;
        Ok(t)
    }

    fn declare(&mut self, columns: Vec<String>) -> Result<(), TableError> {
        if columns.len() > MAX_COLUMNS {
            return Err(TableError::TooLarge {
                table: self.name.clone(),
                limit: MAX_COLUMNS,
                what: "columns",
            });
        }
        for (i, c) in columns.iter().enumerate() {
            check_column_name(c)?;
            if columns[..i].contains(c) {
                return Err(TableError::DuplicateColumn(c.clone()));
            }
        }
        self.columns = columns;
        Ok(())
    }

    /// Its name (the file stem of its CSV).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames it (the CSV file it saves to changes with it).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows, each in column order.
    pub fn rows(&self) -> &[Vec<Cell>] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The cells of one column, or `None` if there is no such column.
    pub fn column(&self, name: &str) -> Option<Vec<&Cell>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| &r[i]).collect())
    }

    /// Adds a row given as (column, value) pairs in any order. The first row
    /// of an undeclared table fixes the columns, in the order given.
    pub fn add_row(&mut self, cells: Vec<(String, Cell)>) -> Result<(), TableError> {
        if self.rows.len() >= MAX_ROWS {
            return Err(TableError::TooLarge {
                table: self.name.clone(),
                limit: MAX_ROWS,
                what: "rows",
            });
        }
        if self.columns.is_empty() {
            self.declare(cells.iter().map(|(c, _)| c.clone()).collect())?;
        }
        let row_no = self.rows.len() + 1;
        let mut row: Vec<Option<Cell>> = vec![None; self.columns.len()];
        for (name, value) in cells {
            match self.columns.iter().position(|c| *c == name) {
                Some(i) => row[i] = Some(value),
                None => {
                    return Err(TableError::ExtraColumn {
                        table: self.name.clone(),
                        row: row_no,
                        column: name,
                        columns: self.columns.join(", "),
                    })
                }
            }
        }
        let mut full = Vec::with_capacity(row.len());
        for (i, cell) in row.into_iter().enumerate() {
            match cell {
                Some(c) => full.push(c),
                None => {
                    return Err(TableError::MissingColumn {
                        table: self.name.clone(),
                        row: row_no,
                        column: self.columns[i].clone(),
                        columns: self.columns.join(", "),
                    })
                }
            }
        }
        self.rows.push(full);
        Ok(())
    }

    /// The table as CSV: a header line, then one line per row, `\n` line ends.
    pub fn to_csv(&self) -> Result<Vec<u8>, TableError> {
        if self.columns.is_empty() {
            return Err(TableError::Empty(self.name.clone()));
        }
        let csv_err = |e: csv::Error| TableError::Csv(self.name.clone(), e.to_string());
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(&self.columns).map_err(csv_err)?;
        for row in &self.rows {
            w.write_record(row.iter().map(Cell::to_string))
                .map_err(csv_err)?;
        }
        w.into_inner()
            .map_err(|e| TableError::Csv(self.name.clone(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[(&str, Cell)]) -> Vec<(String, Cell)> {
        cells
            .iter()
            .map(|(c, v)| (c.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn first_row_fixes_the_columns_and_csv_is_deterministic() {
        let mut t = Table::new("t");
        t.add_row(row(&[("b", Cell::Int(1)), ("a", Cell::Float(0.1))]))
            .unwrap();
        t.add_row(row(&[("a", Cell::Float(2.0)), ("b", Cell::Empty)]))
            .unwrap();
        t.add_row(row(&[
            ("a", Cell::Float(f64::NAN)),
            ("b", Cell::Text("x,y".into())),
        ]))
        .unwrap();
        assert_eq!(
            String::from_utf8(t.to_csv().unwrap()).unwrap(),
            "b,a\n1,0.1\n,2\n\"x,y\",NaN\n"
        );
    }

    #[test]
    fn rows_must_match_the_columns() {
        let mut t = Table::with_columns("t", vec!["a".into(), "b".into()]).unwrap();
        let cases: [(&[(&str, Cell)], &str); 3] = [
            (&[("a", Cell::Int(1))], "has no column \"b\""),
            (
                &[
                    ("a", Cell::Int(1)),
                    ("b", Cell::Int(2)),
                    ("c", Cell::Int(3)),
                ],
                "has column \"c\"",
            ),
            (&[("a b", Cell::Int(1))], "column \"a b\""),
        ];
        for (cells, want) in cases {
            let err = t.add_row(row(cells)).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        for bad in ["", "1a", "a-b", "é"] {
            assert!(check_column_name(bad).is_err(), "{bad}");
        }
        assert!(t.is_empty());
        assert_eq!(String::from_utf8(t.to_csv().unwrap()).unwrap(), "a,b\n");
        assert_eq!(Table::new("e").to_csv(), Err(TableError::Empty("e".into())));
    }

    #[test]
    fn floats_are_written_with_the_precision_they_have() {
        let cases = [
            (130.40142360000002, "130.4014236"),
            (0.1 + 0.2, "0.3"),
            (1.0 / 3.0, "0.333333333333"),
            (1e-9, "0.000000001"),
            (123456789.123456, "123456789.123"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
        ];
        for (x, want) in cases {
            assert_eq!(Cell::Float(x).to_string(), want, "{x}");
        }
    }
}
