//! Option maps (`#{ cores: 2, scheduler: "rr" }`) read strictly.
//!
//! A typo in an option must never be silently ignored, so every function
//! that takes options lists the keys it knows; an unknown key is an error
//! naming it, suggesting the closest known key and listing all of them. A
//! value of the wrong type names the option, what was given and what is
//! expected.

use super::api::RhaiResult;
use super::values::describe;
use gilsim_engine::SimDuration;
use rhai::{Dynamic, Map};

/// The options given to one function, consumed key by key.
pub struct Opts {
    what: String,
    map: Map,
}

impl Opts {
    /// Checks `map` against `allowed`; `what` names the function, e.g. `machine()`.
    pub fn new(what: &str, map: Map, allowed: &[&str]) -> RhaiResult<Self> {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(unknown_key(what, key, allowed).into());
            }
        }
        Ok(Opts {
            what: what.to_string(),
            map,
        })
    }

    /// Whether the option was given.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn take(&mut self, key: &str) -> Option<Dynamic> {
        self.map.remove(key).map(|v| v.flatten())
    }

    /// An error about option `key`.
    pub fn error(&self, key: &str, msg: impl std::fmt::Display) -> Box<rhai::EvalAltResult> {
        format!("option `{key}` of {}: {msg}", self.what).into()
    }

    fn wrong_type(&self, key: &str, v: &Dynamic, expected: &str) -> Box<rhai::EvalAltResult> {
        self.error(key, format!("expected {expected}, got {}", describe(v)))
    }

    /// A duration (`ms(5)`).
    pub fn duration(&mut self, key: &str) -> RhaiResult<Option<SimDuration>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.clone().try_cast::<SimDuration>() {
                Some(d) => Ok(Some(d)),
                None => Err(self.wrong_type(key, &v, "a Duration like ms(5) or us(50)")),
            },
        }
    }

    /// A float (an integer is accepted too).
    pub fn float(&mut self, key: &str) -> RhaiResult<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match number(&v) {
                Some(x) if x.is_finite() => Ok(Some(x)),
                Some(x) => Err(self.error(key, format!("expected a finite number, got {x}"))),
                None => Err(self.wrong_type(key, &v, "a number")),
            },
        }
    }

    /// An integer between `min` and `max`.
    pub fn int_in(&mut self, key: &str, min: i64, max: i64) -> RhaiResult<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.as_int() {
                Ok(i) if (min..=max).contains(&i) => Ok(Some(i)),
                Ok(i) => Err(self.error(
                    key,
                    format!("expected an integer between {min} and {max}, got {i}"),
                )),
                Err(_) => Err(self.wrong_type(key, &v, "an integer")),
            },
        }
    }

    /// A boolean.
    pub fn bool(&mut self, key: &str) -> RhaiResult<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.as_bool() {
                Ok(b) => Ok(Some(b)),
                Err(_) => Err(self.wrong_type(key, &v, "true or false")),
            },
        }
    }

    /// One of the given strings.
    pub fn choice(&mut self, key: &str, choices: &[&str]) -> RhaiResult<Option<String>> {
        let list = choices
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.clone().into_string() {
                Ok(s) if choices.contains(&s.as_str()) => Ok(Some(s)),
                Ok(s) => Err(self.error(key, format!("\"{s}\" is not one of {list}"))),
                Err(_) => Err(self.wrong_type(key, &v, &format!("one of {list}"))),
            },
        }
    }

    /// A string.
    pub fn string(&mut self, key: &str) -> RhaiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.clone().into_string() {
                Ok(s) => Ok(Some(s)),
                Err(_) => Err(self.wrong_type(key, &v, "a string")),
            },
        }
    }

    /// A string or a list of strings (given as one string: a list of one).
    pub fn strings(&mut self, key: &str) -> RhaiResult<Option<Vec<String>>> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        if let Ok(s) = v.clone().into_string() {
            return Ok(Some(vec![s]));
        }
        let expected = "a string or a list of strings";
        let list = v
            .clone()
            .into_array()
            .map_err(|_| self.wrong_type(key, &v, expected))?;
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match item.clone().flatten().into_string() {
                Ok(s) => out.push(s),
                Err(_) => {
                    return Err(self.error(
                        key,
                        format!("item [{i}] must be a string, got {}", describe(item)),
                    ))
                }
            }
        }
        Ok(Some(out))
    }

    /// A value of a custom type, e.g. a `Process` handle.
    pub fn custom<T: Clone + Send + Sync + 'static>(
        &mut self,
        key: &str,
        expected: &str,
    ) -> RhaiResult<Option<T>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match v.clone().try_cast::<T>() {
                Some(t) => Ok(Some(t)),
                None => Err(self.wrong_type(key, &v, expected)),
            },
        }
    }

    /// A distribution (`exp(us(50))`) or a Duration (a fixed one).
    pub fn dist(&mut self, key: &str) -> RhaiResult<Option<gilsim_engine::Dist>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => match super::dist::from_dynamic(&v) {
                Some(d) => Ok(Some(d)),
                None => Err(self.wrong_type(key, &v, "a Dist like exp(us(50)) or a Duration")),
            },
        }
    }

    /// The raw value.
    pub fn raw(&mut self, key: &str) -> Option<Dynamic> {
        self.take(key)
    }
}

/// An integer or float as `f64`.
pub fn number(v: &Dynamic) -> Option<f64> {
    v.as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|i| i as f64))
}

/// "unknown option `x` of f(); did you mean `y`? allowed: a, b, c".
pub fn unknown_key(what: &str, key: &str, allowed: &[&str]) -> String {
    let hint = closest(key, allowed)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    let list = if allowed.is_empty() {
        "none".to_string()
    } else {
        allowed.join(", ")
    };
    format!("unknown option `{key}` of {what}{hint}; allowed options: {list}")
}

/// The allowed word closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(word, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Levenshtein distance (small inputs only).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        let allowed = ["gil", "switch_interval", "check_period"];
        assert_eq!(
            closest("switch_intervall", &allowed),
            Some("switch_interval")
        );
        assert_eq!(closest("gill", &allowed), Some("gil"));
        assert_eq!(closest("cores", &allowed), None);
        let msg = unknown_key("python()", "swich_interval", &allowed);
        assert!(
            msg.contains("did you mean `switch_interval`") && msg.contains("gil, switch_interval"),
            "{msg}"
        );
    }
}
