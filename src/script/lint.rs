//! `gilsim check`'s static checks: every call of a script against the
//! registered API, without running any of it.
//!
//! A light scanner (comments and strings skipped, positions kept) finds
//! function calls `name(...)`, method calls `x.name(...)` and the map
//! literals given to `python(...)`, `machine(...)` and `.plot(...)`. It
//! checks:
//! - a method call names a function of the API, of Rhai's standard library
//!   or of the script (`app.add_thred(...)`, `r.ops_per_second()`);
//! - a function call that is not known but close to a known name is a typo
//!   (`machin(...)`), with "did you mean";
//! - the number of arguments of an API call matches one of its signatures
//!   (`x.f(a)` is `f(x, a)` in Rhai, so both forms count);
//! - option keys of `python(#{...})`, `machine(#{...})`, `t.plot(#{...})`;
//! - the keys of `t.add(#{...})` where `t = table("name", [columns])` lists
//!   its columns as literals;
//! - a method call on a receiver whose type is known without running
//!   (`let m = machine(); m.add_thread(...)`: `add_thread` is a method of
//!   `Program`, not of `Machine`), see `receivers`. Where the type is not
//!   known, a method that exists on some type passes.

mod receivers;
mod text;

use text::{is_ident, near, parts, Code};

use super::api::Signature;
use std::collections::{BTreeMap, BTreeSet};

/// Functions of Rhai's standard packages and language that scripts may call.
const RHAI_STD: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "eval",
    "len",
    "is_empty",
    "push",
    "pop",
    "shift",
    "insert",
    "remove",
    "clear",
    "append",
    "extend",
    "contains",
    "index_of",
    "sort",
    "sort_desc",
    "reverse",
    "map",
    "filter",
    "reduce",
    "reduce_rev",
    "some",
    "all",
    "find",
    "find_map",
    "retain",
    "drain",
    "splice",
    "dedup",
    "truncate",
    "chop",
    "pad",
    "extract",
    "split",
    "split_rev",
    "get",
    "set",
    "keys",
    "values",
    "mixin",
    "fill_with",
    "to_string",
    "to_debug",
    "to_int",
    "to_float",
    "to_decimal",
    "to_char",
    "to_chars",
    "to_bytes",
    "to_upper",
    "to_lower",
    "make_upper",
    "make_lower",
    "trim",
    "sub_string",
    "crop",
    "starts_with",
    "ends_with",
    "replace",
    "chars",
    "bytes",
    "abs",
    "sign",
    "floor",
    "ceiling",
    "round",
    "int",
    "fraction",
    "sqrt",
    "exp",
    "ln",
    "log",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "hypot",
    "min",
    "max",
    "range",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_zero",
    "is_odd",
    "is_even",
    "parse_int",
    "parse_float",
    "parse_json",
    "to_json",
    "to_binary",
    "to_octal",
    "to_hex",
    "timestamp",
    "elapsed",
    "zip",
    "for_each",
    "tag",
    "set_tag",
    "is_string",
    "is_array",
    "is_map",
    "is_int",
    "is_float",
    "is_bool",
    "is_char",
    "is_unit",
    "is_fn_ptr",
    "get_bit",
    "set_bit",
    "get_bits",
    "set_bits",
    "bits",
    "PI",
    "E",
    "sleep",
    "dump",
    "name",
    "is_anonymous",
    "clamp",
    "equals",
    "index",
    "fields",
    "first",
    "last",
    "is_timestamp",
    "string",
    "char",
    "pow",
    "exit",
    "shift_left",
    "shift_right",
];

/// Words of the language that may stand before a parenthesis.
const KEYWORDS: &[&str] = &[
    "if", "else", "for", "in", "while", "loop", "do", "until", "switch", "return", "throw", "try",
    "catch", "let", "const", "fn", "import", "export", "as", "private", "this", "break",
    "continue", "true", "false", "global",
];

/// A call found in the text.
#[derive(Debug)]
struct Call {
    name: String,
    method: bool,
    args: usize,
    line: usize,
    col: usize,
    /// The receiver when it is a plain variable (`t` in `t.add(...)`).
    receiver: Option<String>,
    /// Index of the `.` of a method call.
    dot: Option<usize>,
    /// The top-level keys of a map literal given as the first argument.
    map_keys: Vec<(String, usize, usize)>,
}

/// Characters of code (comments removed, string contents blanked), with
/// their line and column (1-based).
fn code_chars(text: &str) -> Vec<(char, usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let (mut line, mut col) = (1, 1);
    let mut i = 0;
    // Stack of interpolations: inside `${ ... }` of a backtick string.
    let mut interp: Vec<usize> = Vec::new();
    let mut in_backtick = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let advance = |k: usize, i: &mut usize, line: &mut usize, col: &mut usize| {
            for _ in 0..k {
                if *i < chars.len() {
                    if chars[*i] == '\n' {
                        *line += 1;
                        *col = 1;
                    } else {
                        *col += 1;
                    }
                    *i += 1;
                }
            }
        };
        if in_backtick {
            if c == '`' {
                out.push(('"', line, col));
                in_backtick = false;
                advance(1, &mut i, &mut line, &mut col);
            } else if c == '$' && next == Some('{') {
                // The interpolated code reads as `" ( code ) "`: outside the
                // string, nested one level deeper.
                out.push(('"', line, col));
                out.push(('(', line, col));
                interp.push(0);
                in_backtick = false;
                advance(2, &mut i, &mut line, &mut col);
            } else {
                advance(1, &mut i, &mut line, &mut col);
            }
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(1, &mut i, &mut line, &mut col);
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            advance(2, &mut i, &mut line, &mut col);
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                advance(1, &mut i, &mut line, &mut col);
            }
            advance(2, &mut i, &mut line, &mut col);
            continue;
        }
        if c == '"' || c == '\'' {
            // A string (or char) literal: kept as an empty pair of quotes,
            // its text remembered through the `strings` side table.
            out.push(('"', line, col));
            advance(1, &mut i, &mut line, &mut col);
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    advance(1, &mut i, &mut line, &mut col);
                }
                if i < chars.len() {
                    let ch = if chars[i] == '"' { '\u{1}' } else { chars[i] };
                    out.push((ch, line, col));
                }
                advance(1, &mut i, &mut line, &mut col);
            }
            out.push(('"', line, col));
            advance(1, &mut i, &mut line, &mut col);
            continue;
        }
        if c == '`' {
            out.push(('"', line, col));
            in_backtick = true;
            advance(1, &mut i, &mut line, &mut col);
            continue;
        }
        if let Some(depth) = interp.last_mut() {
            if c == '{' {
                *depth += 1;
            } else if c == '}' {
                if *depth == 0 {
                    out.push((')', line, col));
                    out.push(('"', line, col));
                    interp.pop();
                    in_backtick = true;
                    advance(1, &mut i, &mut line, &mut col);
                    continue;
                }
                *depth -= 1;
            }
        }
        out.push((c, line, col));
        advance(1, &mut i, &mut line, &mut col);
    }
    out
}

fn text_of(code: &[(char, usize, usize)], (a, b): (usize, usize)) -> String {
    code[a..b]
        .iter()
        .map(|c| c.0)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The keys of the map literal `#{ ... }` starting at `i` (after spaces).
fn map_keys(code: &[(char, usize, usize)], i: usize) -> Vec<(String, usize, usize)> {
    let mut j = i;
    while j < code.len() && code[j].0.is_whitespace() {
        j += 1;
    }
    if !(code.get(j).map(|c| c.0) == Some('#') && code.get(j + 1).map(|c| c.0) == Some('{')) {
        return Vec::new();
    }
    parts(code, j + 1)
        .into_iter()
        .filter_map(|(a, b)| {
            let mut k = a;
            while k < b && code[k].0.is_whitespace() {
                k += 1;
            }
            let part = text_of(code, (a, b));
            let key = part.split(':').next()?.trim().trim_matches('"').to_string();
            (!key.is_empty() && key.chars().all(is_ident)).then(|| (key, code[k].1, code[k].2))
        })
        .collect()
}

fn scan(code: &[(char, usize, usize)]) -> (Vec<Call>, BTreeSet<String>) {
    let mut calls = Vec::new();
    let mut defined = BTreeSet::new();
    let mut in_str = false;
    let mut i = 0;
    while i < code.len() {
        let c = code[i].0;
        if c == '"' {
            in_str = !in_str;
            i += 1;
            continue;
        }
        let starts_word =
            is_ident(c) && !c.is_ascii_digit() && (i == 0 || !is_ident(code[i - 1].0));
        if in_str || !starts_word {
            i += 1;
            continue;
        }
        let start = i;
        while i < code.len() && is_ident(code[i].0) {
            i += 1;
        }
        let name: String = code[start..i].iter().map(|c| c.0).collect();
        let mut j = i;
        while j < code.len() && code[j].0 == ' ' {
            j += 1;
        }
        if code.get(j).map(|c| c.0) != Some('(') {
            continue;
        }
        // What precedes the name: `fn`, `.`, `::`.
        let mut k = start;
        while k > 0 && code[k - 1].0.is_whitespace() {
            k -= 1;
        }
        let before: String = code[k.saturating_sub(2)..k].iter().map(|c| c.0).collect();
        let word_before: String = {
            let mut w = k;
            while w > 0 && is_ident(code[w - 1].0) {
                w -= 1;
            }
            code[w..k].iter().map(|c| c.0).collect()
        };
        if KEYWORDS.contains(&name.as_str()) {
            continue;
        }
        if word_before == "fn" {
            defined.insert(name);
            continue;
        }
        if before.ends_with("::") || before.ends_with('!') {
            continue;
        }
        let method = before.ends_with('.') && !before.ends_with("..");
        let receiver = if method {
            let mut w = k - 1;
            while w > 0 && code[w - 1].0.is_whitespace() {
                w -= 1;
            }
            let end = w;
            while w > 0 && is_ident(code[w - 1].0) {
                w -= 1;
            }
            let r: String = code[w..end].iter().map(|c| c.0).collect();
            let plain = w == 0 || !matches!(code[w - 1].0, '.' | ')' | ']');
            (plain && !r.is_empty()).then_some(r)
        } else {
            None
        };
        let args = parts(code, j).len();
        calls.push(Call {
            name,
            method,
            args,
            line: code[start].1,
            col: code[start].2,
            receiver,
            dot: method.then(|| k - 1),
            map_keys: map_keys(code, j + 1),
        });
    }
    (calls, defined)
}

/// The tables declared as `let t = table("name", ["a", "b"]);`: variable → columns.
fn tables(code: &[(char, usize, usize)]) -> BTreeMap<String, Vec<String>> {
    let text: String = code.iter().map(|c| c.0).collect();
    let mut out = BTreeMap::new();
    for stmt in text.split(';') {
        let s = stmt.trim();
        let Some(rest) = s.strip_prefix("let ") else {
            continue;
        };
        let Some((var, value)) = rest.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if !value.starts_with("table(") {
            continue;
        }
        let (Some(a), Some(b)) = (value.find('['), value.rfind(']')) else {
            continue;
        };
        let cols: Vec<String> = value[a + 1..b]
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if !cols.is_empty() && cols.iter().all(|c| c.chars().all(is_ident)) {
            out.insert(var.trim().to_string(), cols);
        }
    }
    out
}

/// Parameter count of a documented signature like `Type.f(a: int, b: map) -> X`.
fn arity(text: &str) -> Option<usize> {
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let inner = text[open + 1..close].trim();
    Some(if inner.is_empty() {
        0
    } else {
        inner.split(',').count()
    })
}

/// The receiver of the method call whose `.` is at `dot`, as written
/// (shortened), and its type, when that is known.
fn receiver_type(code: &Code, dot: usize, env: &receivers::Env) -> Option<(String, String)> {
    let start = receivers::receiver_start(code, dot)?;
    let ty = env.type_of(code, start, dot)?;
    let text: String = code[start..dot].iter().map(|c| c.0).collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short = match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    };
    Some((short, ty))
}

/// Checks `text` against the API `signatures`; the first problem as
/// (message, line, column).
pub fn check(text: &str, signatures: &[Signature]) -> Result<(), (String, usize, usize)> {
    let code = code_chars(text);
    let (calls, defined) = scan(&code);
    let tables = tables(&code);
    let types = receivers::Types::new(signatures);
    let env = receivers::Env {
        types: &types,
        defined: &defined,
        vars: receivers::variable_types(&code, &types, &defined),
    };
    // name → (function arities, method arities), as documented.
    let mut api: BTreeMap<&str, (BTreeSet<usize>, BTreeSet<usize>)> = BTreeMap::new();
    for s in signatures {
        let Some(n) = arity(&s.text) else { continue };
        let e = api.entry(s.name.as_str()).or_default();
        let head = s.text.split('(').next().unwrap_or("");
        if head.contains('.') {
            e.1.insert(n);
        } else {
            e.0.insert(n);
        }
    }
    let api_names: Vec<&str> = api.keys().copied().collect();
    let method_names: Vec<&str> = api
        .iter()
        .filter(|(_, (_, m))| !m.is_empty())
        .map(|(n, _)| *n)
        .collect();
    let hint = |name: &str, pool: &[&str]| {
        near(name, pool)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default()
    };
    for c in &calls {
        let known_std = RHAI_STD.contains(&c.name.as_str());
        let known_script = defined.contains(&c.name);
        let at = |msg: String| Err((msg, c.line, c.col));
        let typed = match (c.dot, known_std || known_script) {
            (Some(dot), false) => receiver_type(&code, dot, &env),
            _ => None,
        };
        if let Some((receiver, ty)) = &typed {
            if let Err(msg) = types.check_method(receiver, ty, &c.name, c.args) {
                return at(msg);
            }
        }
        match api.get(c.name.as_str()) {
            _ if typed.is_some() => {}
            None if known_std || known_script => {}
            None if c.method => {
                return at(format!(
                    "no function or method `{}` exists{}; see docs/scripting.md for the API",
                    c.name,
                    hint(&c.name, &method_names)
                ));
            }
            None => {
                let h = hint(&c.name, &api_names);
                if !h.is_empty() {
                    return at(format!("unknown function `{}`{h}", c.name));
                }
            }
            Some((fns, methods)) if !known_script && !known_std => {
                // `x.f(a, b)` is `f(x, a, b)`.
                let ok = if c.method {
                    methods.contains(&c.args) || fns.contains(&(c.args + 1))
                } else {
                    fns.contains(&c.args) || methods.iter().any(|m| m + 1 == c.args)
                };
                if !ok {
                    let forms: Vec<&str> = signatures
                        .iter()
                        .filter(|s| s.name == c.name)
                        .map(|s| s.text.as_str())
                        .collect();
                    return at(format!(
                        "`{}` is given {} argument{}, but it takes: {}",
                        c.name,
                        c.args,
                        if c.args == 1 { "" } else { "s" },
                        forms.join("; ")
                    ));
                }
            }
            Some(_) => {}
        }
        let allowed: Option<(&str, &[&str])> = match (c.name.as_str(), c.method) {
            ("python", false) => Some(("python()", super::model::PYTHON_OPTIONS)),
            ("machine", false) => Some(("machine()", super::model::MACHINE_OPTIONS)),
            ("plot", true) => Some(("plot()", super::figure::PLOT_OPTIONS)),
            _ => None,
        };
        if let Some((what, keys)) = allowed {
            for (k, line, col) in &c.map_keys {
                if !keys.contains(&k.as_str()) {
                    return Err((super::options::unknown_key(what, k, keys), *line, *col));
                }
            }
        }
        if let (true, "add", Some(r)) = (c.method, c.name.as_str(), &c.receiver) {
            if let Some(cols) = tables.get(r) {
                for (k, line, col) in &c.map_keys {
                    if !cols.contains(k) {
                        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
                        return Err((
                            format!(
                                "table `{r}` has no column \"{k}\"{}; its columns: {}",
                                hint(k, &names),
                                cols.join(", ")
                            ),
                            *line,
                            *col,
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigs() -> Vec<Signature> {
        [
            "machine(options: map) -> Machine",
            "machine() -> Machine",
            "python() -> Program",
            "python(options: map) -> Program",
            "Program.add_thread(name: string, steps: array)",
            "Machine.run(p: Program) -> Report",
            "ThreadReport.ops_per_sec() -> float",
            "table(name: string, columns: array of string) -> Table",
            "Table.add(row: map)",
            "py(d: Duration) -> Step",
            "ms(x: int) -> Duration",
            "Report.makespan() -> Duration",
            "Report.thread_report(name: string) -> ThreadReport",
            "Duration.ms() -> float",
            "max(a: Duration, b: Duration) -> Duration",
        ]
        .iter()
        .map(|t| Signature {
            name: t
                .split('(')
                .next()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_string(),
            text: t.to_string(),
        })
        .collect()
    }

    #[test]
    fn typos_and_wrong_calls_are_found_without_running() {
        let good = "let app = python(#{ switch_interval: ms(1) }); // machin(\n\
let s = \"app.add_thred(\"; app.add_thread(`t${1}`, [py(ms(1))]);\n\
fn helper(x) { x.len() } let r = machine().run(app); print(helper([1]));\n\
let t = table(\"t\", [\"a\", \"b\"]); t.add(#{ a: 1, b: 2 });";
        let loops = "for (x, i) in [1] { if (i > 0) { print(x); } } while (false) {}\n\
print(`a ${ms(1)}, b ${[1, 2].len()} ${#{ x: \"y, z\" }}`);";
        // (script, "" if it passes, else part of the first error).
        let cases = [
            (good, ""),
            (loops, ""),
            (
                "let app = python(); app.add_thred(\"t\", []);",
                "`app` is a Program, which has no method `add_thred` (did you mean `add_thread`?)",
            ),
            (
                "let m = machin();",
                "unknown function `machin` (did you mean `machine`",
            ),
            (
                "let a = python(#{ switch_intervall: 1 });",
                "did you mean `switch_interval`",
            ),
            ("let x = r.ops_per_second();", "did you mean `ops_per_sec`"),
            (
                "let t = table(\"t\", [\"a\"]); t.add(#{ b: 1 });",
                "no column \"b\"",
            ),
            (
                "let a = python(); a.add_thread(\"t\");",
                "`add_thread` of a Program is given 1 argument",
            ),
            ("let m = machine(1, 2);", "is given 2 arguments"),
            // Receivers whose type is known: a variable bound by `let` to a
            // call, to a method of a typed variable, or a chain of calls.
            (
                "let m = machine(#{ cores: 2 }); m.add_thred(\"t\", []);",
                "`m` is a Machine, which has no method `add_thred` (did you mean `add_thread`, a method of Program?)",
            ),
            (
                "let m = machine(); m.add_thread(\"t\", []);",
                "`m` is a Machine, which has no method `add_thread`: `add_thread` is a method of Program",
            ),
            (
                "let app = python(); app.run(app);",
                "`app` is a Program, which has no method `run`: `run` is a method of Machine",
            ),
            (
                "let m = machine(); let r = m.run(python()); r.add_thread(\"t\", []);",
                "`r` is a Report, which has no method `add_thread`",
            ),
            (
                "let r = machine().run(python()); r.thread_report(\"t\").ops_per_second();",
                "`r.thread_report(\"t\")` is a ThreadReport, which has no method `ops_per_second` (did you mean `ops_per_sec`?)",
            ),
            (
                "print(machine().run(python()).makespan().ms(3));",
                "`ms` of a Duration is given 1 argument, but it takes: Duration.ms() -> float",
            ),
            (
                "let m = machine(); m.py(ms(1));",
                "`m` is a Machine, which has no method `py`, and the function `py` takes no Machine first",
            ),
            (
                "let m = machine(); m.zzzz();",
                "`m` is a Machine, which has no method `zzzz`; its methods: run",
            ),
            // Known types whose calls are right.
            (
                "let m = machine(); let app = python(); let r = m.run(app); print(r.makespan().ms());",
                "",
            ),
            // `x.f(a)` is `f(x, a)`: a function that takes the type first.
            (
                "let d = machine().run(python()).makespan(); print(d.max(ms(1)).ms());",
                "",
            ),
            // Unknown types pass: reassigned, a parameter, two types, not a call chain.
            ("let m = machine(); m = python(); m.add_thread(\"t\", []);", ""),
            ("let f = |m| m.add_thread(\"t\", []); let m = machine();", ""),
            ("fn g(m) { m.add_thread(\"t\", []) } let m = machine();", ""),
            ("for m in [python()] { m.add_thread(\"t\", []); } let m = machine();", ""),
            ("let m = machine(); let m = python(); m.add_thread(\"t\", []);", ""),
            ("let m = [machine()][0]; m.add_thread(\"t\", []);", ""),
            ("let m = machine(); print(\"m.add_thread(1)\"); print(m.type_of());", ""),
        ];
        for (src, want) in cases {
            match check(src, &sigs()) {
                Ok(()) => assert!(
                    want.is_empty(),
                    "{src}: passed, but should fail with {want}"
                ),
                Err((e, _, _)) => assert!(!want.is_empty() && e.contains(want), "{src}: {e}"),
            }
        }
        let (_, line, col) = check("let a = 1;\n  machin();", &sigs()).unwrap_err();
        assert_eq!((line, col), (2, 3));
    }
}
