//! Run parameters: `--set NAME=VALUE` overrides and the values a script read.
//!
//! A script reads a parameter with `param("name", default)`. The command line
//! may override it with `--set name=value`; the value is parsed by its look:
//! `true`/`false`, an integer, a float, a duration with a unit (`500us`,
//! `5ms`, `2.5s`, `100ns`), else text. Every value read is recorded, with
//! its source, for the manifest; an override the script never read is
//! reported, because it is almost always a typo.

use gilsim_engine::SimDuration;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use thiserror::Error;

/// A `--set` argument that cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum SetError {
    /// No `=`.
    #[error("--set {0}: expected NAME=VALUE, like --set threads=4")]
    NoEquals(String),
    /// A name that is not an identifier.
    #[error("--set {0}: the name must be letters, digits and underscores, starting with a letter or underscore")]
    BadName(String),
    /// The same name twice.
    #[error("--set {0} is given twice")]
    Twice(String),
    /// A number or duration that no value can hold (`1e400`, `1e300s`, `-5ms`).
    #[error("--set {set}: {reason}")]
    OutOfRange {
        /// The argument as given.
        set: String,
        /// What is allowed.
        reason: String,
    },
}

/// Why `raw` looks like a number or a duration but cannot be one, if so.
fn out_of_range(raw: &str, value: &ParamValue) -> Option<String> {
    let t = raw.trim();
    match value {
        ParamValue::Float(x) if !x.is_finite() => Some(format!(
            "{t} is too large for a float (they go up to about 1.8e308)"
        )),
        ParamValue::Text(_) => {
            let num = ["ns", "us", "µs", "ms", "s"]
                .iter()
                .find_map(|u| t.strip_suffix(u))?
                .trim_end();
            looks_numeric(num).then(|| {
                format!("{t} is not a duration: a duration is a finite number >= 0 with a unit (ns, us, ms, s), at most about 584 years")
            })
        }
        _ => None,
    }
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A duration (`5ms`).
    Duration(SimDuration),
    /// Anything else.
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Duration(d) => write!(f, "{d}"),
            ParamValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl ParamValue {
    /// Parses a `--set` value by its look.
    pub fn parse(raw: &str) -> ParamValue {
        let t = raw.trim();
        match t {
            "true" => return ParamValue::Bool(true),
            "false" => return ParamValue::Bool(false),
            _ => {}
        }
        if let Ok(i) = t.parse::<i64>() {
            return ParamValue::Int(i);
        }
        if looks_numeric(t) {
            if let Ok(x) = t.parse::<f64>() {
                return ParamValue::Float(x);
            }
        }
        if let Some(d) = parse_duration(t) {
            return ParamValue::Duration(d);
        }
        ParamValue::Text(raw.to_string())
    }

    /// The value as JSON, for the manifest (durations as text with a unit).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Int(i) => (*i).into(),
            ParamValue::Float(x) => {
                serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into)
            }
            ParamValue::Bool(b) => (*b).into(),
            ParamValue::Duration(d) => d.to_string().into(),
            ParamValue::Text(s) => s.clone().into(),
        }
    }
}

/// Whether `t` is a plain decimal number (so "inf" or "nan" stay text).
fn looks_numeric(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && t.chars().any(|c| c.is_ascii_digit())
}

/// Parses `500us`, `5 ms`, `2.5s`, `100ns`, `20µs`.
pub fn parse_duration(t: &str) -> Option<SimDuration> {
    let units = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
    ];
    for (unit, scale) in units {
        if let Some(num) = t.strip_suffix(unit) {
            let num = num.trim_end();
            if looks_numeric(num) {
                return num
                    .parse::<f64>()
                    .ok()
                    .and_then(|x| SimDuration::from_secs_f64(x * scale));
            }
        }
    }
    None
}

fn is_identifier(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Where a parameter's value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `--set`.
    Override,
    /// The script's default.
    Default,
}

/// The overrides of a run and what the script read.
#[derive(Debug, Default)]
pub struct Params {
    overrides: BTreeMap<String, (String, ParamValue)>,
    read: Mutex<BTreeMap<String, (ParamValue, Source)>>,
}

impl Params {
    /// Parses `NAME=VALUE` arguments.
    pub fn from_sets<S: AsRef<str>>(sets: &[S]) -> Result<Self, SetError> {
        let mut overrides = BTreeMap::new();
        for s in sets {
            let s = s.as_ref();
            let (name, raw) = s
                .split_once('=')
                .ok_or_else(|| SetError::NoEquals(s.to_string()))?;
            let name = name.trim();
            if !is_identifier(name) {
                return Err(SetError::BadName(s.to_string()));
            }
            let value = ParamValue::parse(raw);
            if let Some(reason) = out_of_range(raw, &value) {
                return Err(SetError::OutOfRange {
                    set: s.to_string(),
                    reason,
                });
            }
            if overrides
                .insert(name.to_string(), (raw.to_string(), value))
                .is_some()
            {
                return Err(SetError::Twice(name.to_string()));
            }
        }
        Ok(Params {
            overrides,
            read: Mutex::new(BTreeMap::new()),
        })
    }

    /// The override of `name`: its raw text and parsed value.
    pub fn get_override(&self, name: &str) -> Option<&(String, ParamValue)> {
        self.overrides.get(name)
    }

    /// Records that the script read `name` as `value`.
    pub fn record(&self, name: &str, value: ParamValue, source: Source) {
        if let Ok(mut read) = self.read.lock() {
            read.insert(name.to_string(), (value, source));
        }
    }

    /// The `--set` values as given (name -> raw text).
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.overrides
            .iter()
            .map(|(k, (raw, _))| (k.clone(), raw.clone()))
            .collect()
    }

    /// Every parameter the script read, with its effective value.
    pub fn read(&self) -> BTreeMap<String, (ParamValue, Source)> {
        self.read.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Overrides the script never read.
    pub fn unread(&self) -> Vec<String> {
        let read = self.read();
        self.overrides
            .keys()
            .filter(|k| !read.contains_key(*k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_by_their_look() {
        let cases = [
            ("4", ParamValue::Int(4)),
            ("-2", ParamValue::Int(-2)),
            ("0.5", ParamValue::Float(0.5)),
            ("1e3", ParamValue::Float(1000.0)),
            ("true", ParamValue::Bool(true)),
            ("500us", ParamValue::Duration(SimDuration::us(500))),
            ("5 ms", ParamValue::Duration(SimDuration::ms(5))),
            ("2.5s", ParamValue::Duration(SimDuration::ms(2500))),
            ("20µs", ParamValue::Duration(SimDuration::us(20))),
            ("new", ParamValue::Text("new".into())),
            ("inf", ParamValue::Text("inf".into())),
            ("-5ms", ParamValue::Text("-5ms".into())),
            ("", ParamValue::Text("".into())),
        ];
        for (raw, want) in cases {
            assert_eq!(ParamValue::parse(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn sets_are_checked_and_unread_ones_reported() {
        assert!(matches!(
            Params::from_sets(&["x"]),
            Err(SetError::NoEquals(_))
        ));
        assert!(matches!(
            Params::from_sets(&["1x=2"]),
            Err(SetError::BadName(_))
        ));
        assert!(matches!(
            Params::from_sets(&["x=1", "x=2"]),
            Err(SetError::Twice(_))
        ));
        for bad in ["f=1e400", "f=-1e999", "d=1e300s", "d=-5ms", "d=1e-400x"] {
            let r = Params::from_sets(&[bad]);
            if bad.ends_with('x') {
                assert!(r.is_ok(), "{bad} is text");
                continue;
            }
            match r {
                Err(e @ SetError::OutOfRange { .. }) => {
                    assert!(e.to_string().starts_with(&format!("--set {bad}: ")), "{e}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let p = Params::from_sets(&["a=1", "b=x=y"]).unwrap();
        assert_eq!(
            p.get_override("b").unwrap().1,
            ParamValue::Text("x=y".into())
        );
        p.record("a", ParamValue::Int(1), Source::Override);
        assert_eq!(p.unread(), vec!["b".to_string()]);
    }
}
