//! `Table` in scripts: `table(name)`, `rows.add(#{...})`, `rows.save()`.
//!
//! Rhai's object maps keep their keys sorted, so a table whose columns are not
//! declared gets them in alphabetical order; `table(name, [columns])` fixes
//! the order instead. Cells are integers, floats, booleans, strings or `()`
//! (empty). A `Duration` is refused: a CSV cell has no unit, so the script
//! converts it (`d.ms()`) and names the column with the unit (`latency_ms`).

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::values::describe;
use crate::output::staging::check_relative;
use crate::output::table::{Cell, Table};
use gilsim_engine::SimDuration;
use rhai::{Array, Dynamic, Map};
use std::sync::Arc;

/// The file a table saves to, relative to the output folder.
pub fn csv_path(name: &str) -> String {
    if name.ends_with(".csv") {
        name.to_string()
    } else {
        format!("{name}.csv")
    }
}

/// Checks a table name where the script writes it, so the error points there.
pub fn check_table_name(name: &str) -> RhaiResult<()> {
    // The name itself first: "" or "sub/" would save a hidden ".csv".
    check_relative(name)
        .and_then(|_| check_relative(&csv_path(name)))
        .map(|_| ())
        .map_err(|e| format!("table \"{name}\": {e}").into())
}

/// A script value as a table cell; `what` names the column for errors.
pub fn cell_from(what: &str, v: &Dynamic) -> RhaiResult<Cell> {
    let v = v.flatten_clone();
    if let Ok(i) = v.as_int() {
        Ok(Cell::Int(i))
    } else if let Ok(x) = v.as_float() {
        Ok(Cell::Float(x))
    } else if let Ok(b) = v.as_bool() {
        Ok(Cell::Bool(b))
    } else if v.is_unit() {
        Ok(Cell::Empty)
    } else if let Ok(c) = v.as_char() {
        Ok(Cell::Text(c.to_string()))
    } else if v.is_string() {
        Ok(Cell::Text(v.into_string().unwrap_or_default()))
    } else if v.is::<SimDuration>() {
        Err(format!("{what} is a Duration ({}); a CSV cell has no unit, so convert it, e.g. d.ms(), and put the unit in the column name, e.g. latency_ms", describe(&v)).into())
    } else {
        Err(format!(
            "{what} must be a number, bool, string or () for an empty cell, got {}",
            describe(&v)
        )
        .into())
    }
}

/// A cell as a script value.
pub fn cell_to_dynamic(c: &Cell) -> Dynamic {
    match c {
        Cell::Int(i) => Dynamic::from_int(*i),
        Cell::Float(x) => Dynamic::from_float(*x),
        Cell::Bool(b) => Dynamic::from_bool(*b),
        Cell::Text(s) => s.clone().into(),
        Cell::Empty => Dynamic::UNIT,
    }
}

/// The (column, cell) pairs of a script map, in key order.
pub fn row_from(table: &str, map: Map) -> RhaiResult<Vec<(String, Cell)>> {
    map.into_iter()
        .map(|(k, v)| {
            Ok((
                k.to_string(),
                cell_from(&format!("column `{k}` of table \"{table}\""), &v)?,
            ))
        })
        .collect()
}

fn new_table(name: &str, columns: Option<Array>) -> RhaiResult<Table> {
    check_table_name(name)?;
    match columns {
        None => Ok(Table::new(name)),
        Some(cols) => {
            let mut names = Vec::with_capacity(cols.len());
            for (i, c) in cols.into_iter().enumerate() {
                let c = c.flatten();
                match c.clone().into_string() {
                    Ok(s) => names.push(s),
                    Err(_) => {
                        return Err(format!(
                            "table(\"{name}\", columns): columns[{i}] must be a string, got {}",
                            describe(&c)
                        )
                        .into())
                    }
                }
            }
            Table::with_columns(name, names)
                .map_err(|e| format!("table(\"{name}\", columns): {e}").into())
        }
    }
}

fn add(t: &mut Table, row: Map) -> RhaiResult<()> {
    let cells = row_from(t.name(), row)?;
    t.add_row(cells).map_err(|e| e.to_string().into())
}

/// Stages `t` as `<out>/<name>.csv`.
pub fn save(ctx: &RunContext, t: &Table) -> RhaiResult<()> {
    let bytes = t.to_csv().map_err(|e| e.to_string())?;
    ctx.stage(&csv_path(t.name()), bytes)
        .map_err(|e| format!("table \"{}\": {e}", t.name()))?;
    Ok(())
}

fn column(t: &mut Table, name: &str) -> RhaiResult<Array> {
    match t.column(name) {
        Some(cells) => Ok(cells.into_iter().map(cell_to_dynamic).collect()),
        None => Err(format!(
            "table \"{}\" has no column \"{name}\"; its columns: {}",
            t.name(),
            t.columns().join(", ")
        )
        .into()),
    }
}

fn rows(t: &mut Table) -> Array {
    t.rows()
        .iter()
        .map(|r| {
            let m: Map = t
                .columns()
                .iter()
                .zip(r)
                .map(|(c, v)| (c.into(), cell_to_dynamic(v)))
                .collect();
            Dynamic::from_map(m)
        })
        .collect()
}

fn show(t: &mut Table) -> String {
    match t.to_csv() {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => format!("table(\"{}\", no rows)", t.name()),
    }
}

/// Registers `Table` and its functions.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    api.engine()
        .register_type_with_name::<Table>("Table")
        .register_fn("to_string", show)
        .register_fn("to_debug", show);
    add!(api, "table(name: string) -> Table", |name: &str| new_table(
        name, None
    ));
    add!(
        api,
        "table(name: string, columns: array of string) -> Table",
        |name: &str, cols: Array| new_table(name, Some(cols))
    );
    add!(api, "Table.add(row: map)", add);
    add!(api, "Table.save()", move |t: &mut Table| save(&ctx, t));
    add!(api, "Table.name() -> string", |t: &mut Table| t
        .name()
        .to_string());
    add!(api, "Table.len() -> int", |t: &mut Table| t.len()
        as rhai::INT);
    add!(
        api,
        "Table.columns() -> array of string",
        |t: &mut Table| {
            t.columns()
                .iter()
                .map(|c| Dynamic::from(c.clone()))
                .collect::<Array>()
        }
    );
    add!(api, "Table.column(name: string) -> array", column);
    add!(api, "Table.rows() -> array of map", rows);
}
