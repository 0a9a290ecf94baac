//! Receiver types for `gilsim check`: which type a method is called on,
//! where the script says so without running.
//!
//! A type is known for
//! - a call of an API function whose documented signature returns one type
//!   that has methods (`machine(...)` → `Machine`, `python()` → `Program`);
//! - a method call on a receiver of known type, the same way
//!   (`m.run(app)` → `Report`, `r.thread_report("x")` → `ThreadReport`);
//! - a variable bound only by `let`/`const` to expressions of one such type
//!   (`let m = machine(); let r = m.run(app);`).
//!
//! Anything else is unknown and passes: a variable that is also assigned
//! with `=`, is a closure, function, `for` or `catch` parameter, or is bound
//! to values of two types; an operator, an index, a property, a script
//! function, a module path. With a known type, a method must be one of that
//! type's, or a function that takes that type first (`x.f(a)` is `f(x, a)`).

use super::text::{is_ident, matching, near, parts, Code};
use crate::script::api::Signature;
use std::collections::{BTreeMap, BTreeSet};

/// The documented API, by type.
#[derive(Debug, Default)]
pub(super) struct Types {
    /// Type → method → (arity, signature text) of each documented form.
    methods: BTreeMap<String, BTreeMap<String, Vec<(usize, String)>>>,
    /// Function → (arity, type of its first parameter) of each form.
    first_params: BTreeMap<String, Vec<(usize, String)>>,
    /// (receiver type, or "" for a function; name) → (arity, return type) of each form.
    returns: BTreeMap<(String, String), Vec<(usize, String)>>,
}

/// The parts of a documented signature `Type.name(a: A, b: B) -> R`.
struct Parsed<'a> {
    receiver: Option<&'a str>,
    name: &'a str,
    params: Vec<&'a str>,
    returns: &'a str,
}

fn parse(text: &str) -> Option<Parsed<'_>> {
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let head = &text[..open];
    let (receiver, name) = match head.rsplit_once('.') {
        Some((r, n)) => (Some(r.trim()), n.trim()),
        None => (None, head.trim()),
    };
    let inner = text[open + 1..close].trim();
    let params = if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(str::trim).collect()
    };
    let returns = text[close + 1..]
        .trim()
        .strip_prefix("->")
        .unwrap_or("")
        .trim();
    Some(Parsed {
        receiver,
        name,
        params,
        returns,
    })
}

impl Types {
    /// The types and their methods, from the documented signatures.
    pub(super) fn new(signatures: &[Signature]) -> Types {
        let mut t = Types::default();
        for s in signatures {
            let Some(p) = parse(&s.text) else { continue };
            let arity = p.params.len();
            let key = (p.receiver.unwrap_or("").to_string(), p.name.to_string());
            t.returns
                .entry(key)
                .or_default()
                .push((arity, p.returns.to_string()));
            match p.receiver {
                Some(r) => t
                    .methods
                    .entry(r.to_string())
                    .or_default()
                    .entry(p.name.to_string())
                    .or_default()
                    .push((arity, s.text.clone())),
                None => {
                    let first = p
                        .params
                        .first()
                        .map_or("", |f| f.split_once(':').map_or("", |(_, ty)| ty.trim()));
                    t.first_params
                        .entry(p.name.to_string())
                        .or_default()
                        .push((arity, first.to_string()));
                }
            }
        }
        t
    }

    /// The type a call returns, if all its forms with `args` arguments
    /// return the same type that has methods.
    fn returns(&self, receiver: &str, name: &str, args: usize) -> Option<String> {
        let forms = self
            .returns
            .get(&(receiver.to_string(), name.to_string()))?;
        let mut types = forms.iter().filter(|(a, _)| *a == args).map(|(_, r)| r);
        let first = types.next()?;
        (types.all(|r| r == first) && self.methods.contains_key(first)).then(|| first.clone())
    }

    /// Whether function `name` takes `args + 1` arguments, the first of type `ty`.
    fn takes_first(&self, name: &str, ty: &str, args: usize) -> bool {
        self.first_params.get(name).is_some_and(|forms| {
            forms.iter().any(|(a, first)| {
                *a == args + 1 && (first.is_empty() || first.split('|').any(|t| t.trim() == ty))
            })
        })
    }

    /// The types with a method `name`.
    fn owners(&self, name: &str) -> Vec<&str> {
        self.methods
            .iter()
            .filter(|(_, m)| m.contains_key(name))
            .map(|(t, _)| t.as_str())
            .collect()
    }

    /// Checks `receiver.name(args…)` on a receiver of type `ty`: `Err` says
    /// what is wrong, with "did you mean" where a name is close.
    pub(super) fn check_method(
        &self,
        receiver: &str,
        ty: &str,
        name: &str,
        args: usize,
    ) -> Result<(), String> {
        let own = self.methods.get(ty);
        if self.takes_first(name, ty, args) {
            return Ok(());
        }
        if let Some(forms) = own.and_then(|m| m.get(name)) {
            if forms.iter().any(|(a, _)| *a == args) {
                return Ok(());
            }
            let texts: Vec<&str> = forms.iter().map(|(_, t)| t.as_str()).collect();
            return Err(format!(
                "`{name}` of {} is given {args} argument{}, but it takes: {}",
                a_type(ty),
                if args == 1 { "" } else { "s" },
                texts.join("; ")
            ));
        }
        let is = format!("`{receiver}` is {}", a_type(ty));
        let owners = self.owners(name);
        if !owners.is_empty() {
            return Err(format!(
                "{is}, which has no method `{name}`: `{name}` is a method of {}",
                owners.join(", ")
            ));
        }
        if self.first_params.contains_key(name) {
            return Err(format!(
                "{is}, which has no method `{name}`, and the function `{name}` takes no {ty} first"
            ));
        }
        Err(format!(
            "{is}, which has no method `{name}`{}",
            self.suggest(ty, name)
        ))
    }

    /// "did you mean" for an unknown method of `ty`: one of its own, or
    /// another type's (saying whose), or else the list of its own.
    fn suggest(&self, ty: &str, name: &str) -> String {
        let own: Vec<&str> = self
            .methods
            .get(ty)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if let Some(c) = near(name, &own) {
            return format!(" (did you mean `{c}`?)");
        }
        let all: Vec<&str> = self
            .methods
            .values()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        if let Some(c) = near(name, &all) {
            return format!(
                " (did you mean `{c}`, a method of {}?)",
                self.owners(c).join(", ")
            );
        }
        format!("; its methods: {}", own.join(", "))
    }
}

/// "a Machine", "an Interpreter".
fn a_type(ty: &str) -> String {
    let vowel = ty
        .chars()
        .next()
        .is_some_and(|c| "AEIOU".contains(c.to_ascii_uppercase()));
    format!("{} {ty}", if vowel { "an" } else { "a" })
}

/// What the typing of an expression needs: the API, the script's own
/// functions (their return types are unknown) and the variables typed so far.
pub(super) struct Env<'a> {
    pub(super) types: &'a Types,
    pub(super) defined: &'a BTreeSet<String>,
    pub(super) vars: BTreeMap<String, String>,
}

fn skip_ws(code: &Code, mut i: usize, end: usize) -> usize {
    while i < end && code[i].0.is_whitespace() {
        i += 1;
    }
    i
}

fn skip_ws_back(code: &Code, mut i: usize) -> usize {
    while i > 0 && code[i - 1].0.is_whitespace() {
        i -= 1;
    }
    i
}

/// The identifier starting at `i` (not a number) and the index after it.
fn ident_at(code: &Code, i: usize, end: usize) -> Option<(String, usize)> {
    let first = code.get(i).filter(|_| i < end)?.0;
    if !is_ident(first) || first.is_ascii_digit() {
        return None;
    }
    let mut j = i;
    while j < end && is_ident(code[j].0) {
        j += 1;
    }
    Some((code[i..j].iter().map(|c| c.0).collect(), j))
}

impl Env<'_> {
    /// The type of the expression `code[a..b]`, if it is a chain of calls
    /// `f(…).g(…)…` or `v.g(…)…` whose every step has a known type.
    pub(super) fn type_of(&self, code: &Code, a: usize, b: usize) -> Option<String> {
        let (name, j) = ident_at(code, skip_ws(code, a, b), b)?;
        let mut k = skip_ws(code, j, b);
        let mut ty = if k < b && code[k].0 == '(' {
            let close = matching(code, k);
            if close > b || self.defined.contains(&name) {
                return None;
            }
            let t = self.types.returns("", &name, parts(code, k).len())?;
            k = close;
            t
        } else {
            self.vars.get(&name)?.clone()
        };
        loop {
            k = skip_ws(code, k, b);
            if k >= b {
                return Some(ty);
            }
            if code[k].0 != '.' {
                return None;
            }
            let (m, j) = ident_at(code, skip_ws(code, k + 1, b), b)?;
            let open = skip_ws(code, j, b);
            if open >= b || code[open].0 != '(' || self.defined.contains(&m) {
                return None;
            }
            let close = matching(code, open);
            if close > b {
                return None;
            }
            ty = self.types.returns(&ty, &m, parts(code, open).len())?;
            k = close;
        }
    }
}

/// The index of the `(` matching the `)` at `close`, going back.
fn matching_back(code: &Code, close: usize) -> Option<usize> {
    let (mut depth, mut in_str) = (0i32, false);
    let mut i = close + 1;
    while i > 0 {
        i -= 1;
        let c = code[i].0;
        if c == '"' {
            in_str = !in_str;
        } else if !in_str {
            match c {
                ')' | ']' | '}' => depth += 1,
                '(' | '[' | '{' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Where the receiver of the method call whose `.` is at `dot` starts: a
/// chain of identifiers and calls joined by dots (`machine().run(app)`,
/// `r`), or `None` for anything else (an index, a literal, parentheses, a
/// module path).
pub(super) fn receiver_start(code: &Code, dot: usize) -> Option<usize> {
    let mut w = dot;
    loop {
        w = skip_ws_back(code, w);
        if w == 0 {
            return None;
        }
        if code[w - 1].0 == ')' {
            w = skip_ws_back(code, matching_back(code, w - 1)?);
        }
        let end = w;
        while w > 0 && is_ident(code[w - 1].0) {
            w -= 1;
        }
        if w == end || code[w].0.is_ascii_digit() {
            return None;
        }
        let before = skip_ws_back(code, w);
        let prev = |k: usize| (before >= k).then(|| code[before - k].0);
        match (prev(1), prev(2)) {
            (Some('.'), p) if p != Some('.') => w = before - 1,
            (Some(':'), Some(':')) => return None,
            _ => return Some(w),
        }
    }
}

/// A `let`/`const` binding: the variable and its expression's range.
struct Binding {
    name: String,
    value: (usize, usize),
}

/// Where the expression starting at `i` ends: a `;`, or a bracket closing
/// an enclosing one, at its own level.
fn expression_end(code: &Code, i: usize) -> usize {
    let (mut depth, mut in_str) = (0i32, false);
    for (k, &(c, _, _)) in code.iter().enumerate().skip(i) {
        if c == '"' {
            in_str = !in_str;
        } else if !in_str {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return k,
                ')' | ']' | '}' => depth -= 1,
                ';' if depth == 0 => return k,
                _ => {}
            }
        }
    }
    code.len()
}

/// Identifiers of code outside strings, with their (start, end) indices.
fn words(code: &Code) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let (mut i, mut in_str) = (0, false);
    while i < code.len() {
        let c = code[i].0;
        if c == '"' {
            in_str = !in_str;
        }
        let starts = !in_str && is_ident(c) && (i == 0 || !is_ident(code[i - 1].0));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < code.len() && is_ident(code[j].0) {
            j += 1;
        }
        if !c.is_ascii_digit() {
            out.push((code[i..j].iter().map(|c| c.0).collect(), i, j));
        }
        i = j;
    }
    out
}

/// Whether an `=` follows `i` as an assignment (not `==` or `=>`).
fn assignment_after(code: &Code, i: usize) -> Option<usize> {
    let k = skip_ws(code, i, code.len());
    let is_eq = code.get(k).map(|c| c.0) == Some('=');
    let op = code.get(k + 1).map(|c| c.0);
    (is_eq && !matches!(op, Some('=') | Some('>'))).then_some(k + 1)
}

/// The `let`/`const` bindings, and the names bound any other way
/// (assigned, parameters, loop variables), which stay untyped.
fn bindings(code: &Code) -> (Vec<Binding>, BTreeSet<String>) {
    let words = words(code);
    let mut lets = Vec::new();
    let mut other = BTreeSet::new();
    for (n, (w, _, end)) in words.iter().enumerate() {
        let next = words.get(n + 1);
        match w.as_str() {
            "let" | "const" => {
                if let Some((name, _, e)) = next {
                    if let Some(at) = assignment_after(code, *e) {
                        lets.push(Binding {
                            name: name.clone(),
                            value: (at, expression_end(code, at)),
                        });
                    } else {
                        other.insert(name.clone());
                    }
                }
            }
            "for" | "catch" | "fn" => {
                // Up to `in`, `)` or `{`: the loop variables, the caught
                // error, the function's name and parameters.
                let stop = ['{'];
                for (x, s, _) in &words[n + 1..] {
                    if x == "in" || code[*end..*s].iter().any(|c| stop.contains(&c.0)) {
                        break;
                    }
                    other.insert(x.clone());
                }
            }
            _ => {
                let after_let = n > 0 && matches!(words[n - 1].0.as_str(), "let" | "const");
                let property = skip_ws_back(code, words[n].1)
                    .checked_sub(1)
                    .is_some_and(|k| code[k].0 == '.');
                if !after_let && !property && assignment_after(code, *end).is_some() {
                    other.insert(w.clone());
                }
            }
        }
    }
    other.extend(closure_params(code));
    (lets, other)
}

/// Parameters of closures `|a, b| …` (a `|` pair around identifiers and commas).
fn closure_params(code: &Code) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bars: Vec<usize> = (0..code.len()).filter(|&i| code[i].0 == '|').collect();
    for pair in bars.windows(2) {
        let inner = &code[pair[0] + 1..pair[1]];
        let only_names = inner
            .iter()
            .all(|c| is_ident(c.0) || c.0 == ',' || c.0.is_whitespace());
        if only_names {
            let text: String = inner.iter().map(|c| c.0).collect();
            out.extend(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
    }
    out
}

/// The variables whose type is known: every binding of each is a
/// `let`/`const` of one and the same known type.
pub(super) fn variable_types(
    code: &Code,
    types: &Types,
    defined: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let (lets, other) = bindings(code);
    let mut env = Env {
        types,
        defined,
        vars: BTreeMap::new(),
    };
    // Each pass may type a variable bound to another one typed by the
    // previous pass; a chain of n bindings needs at most n passes.
    for _ in 0..=lets.len() {
        let mut found: BTreeMap<String, Option<String>> = BTreeMap::new();
        for b in lets.iter().filter(|b| !other.contains(&b.name)) {
            let ty = env.type_of(code, b.value.0, b.value.1);
            found
                .entry(b.name.clone())
                .and_modify(|t| {
                    if *t != ty {
                        *t = None;
                    }
                })
                .or_insert(ty);
        }
        let vars: BTreeMap<String, String> = found
            .into_iter()
            .filter_map(|(n, t)| Some((n, t?)))
            .collect();
        if vars == env.vars {
            break;
        }
        env.vars = vars;
    }
    env.vars
}
