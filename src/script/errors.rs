//! Script errors as people read them: `file:line:column: message`, the line
//! of source with a caret under the column, then where the failing code was
//! called from.
//!
//! Rhai nests errors: a failure inside a function is wrapped at each call
//! site (`ErrorInFunctionCall`), a failure while loading a module in
//! `ErrorInModule`. The position worth showing is the innermost one, in the
//! file that holds it (a module's file, for an error inside a module), and the
//! wrappers become "called from" notes. Messages of the common failures are
//! rewritten to say what to do (which `--limit` to raise, which argument types a
//! function takes).

use super::api::Signature;
use super::resolver::Sources;
use crate::support::limits::raise_hint;
use rhai::{EvalAltResult, ParseErrorType, Position};
use std::fmt;

/// A script that failed to compile or run.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptError {
    /// The file holding the failing code.
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column (characters), if known.
    pub column: Option<usize>,
    /// What went wrong.
    pub message: String,
    /// The source line and a caret, if the source is known.
    pub excerpt: Option<String>,
    /// Where it was called from, innermost first.
    pub notes: Vec<String>,
}

impl std::error::Error for ScriptError {}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message)?,
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message)?,
            _ => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let Some(ex) = &self.excerpt {
            write!(f, "\n{ex}")?;
        }
        for n in &self.notes {
            write!(f, "\n  {n}")?;
        }
        Ok(())
    }
}

/// What the renderer needs to know beyond the error.
pub struct ErrorContext<'a> {
    /// The main script's name (as shown).
    pub main: &'a str,
    /// Every source read.
    pub sources: &'a Sources,
    /// The API's signatures, for "function not found".
    pub signatures: &'a [Signature],
    /// Limits, for limit errors.
    pub limits: &'a super::context::Limits,
}

fn at(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(l), None) => format!("{file}:{l}"),
        _ => file.to_string(),
    }
}

fn call_note(name: &str, caller_file: &str, pos: Position) -> String {
    if name.starts_with("sweep ") {
        format!("in {name}, sweep() called at {}", at(caller_file, pos))
    } else if name.starts_with("anon$") {
        format!("in a closure called at {}", at(caller_file, pos))
    } else {
        format!("in function `{name}` called at {}", at(caller_file, pos))
    }
}

/// Renders `err` (possibly nested) as a [`ScriptError`].
pub fn render(err: &EvalAltResult, cx: &ErrorContext) -> ScriptError {
    let mut file = cx.main.to_string();
    let mut notes = Vec::new();
    let mut cur = err;
    let mut last_pos = err.position();
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                notes.push(call_note(name, &file, *pos));
                if !src.is_empty() {
                    file = src.clone();
                }
                last_pos = *pos;
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                notes.push(format!("in module {name}, imported at {}", at(&file, *pos)));
                file = name.clone();
                last_pos = Position::NONE;
                cur = inner;
            }
            _ => break,
        }
    }
    let mut pos = cur.position();
    if pos.is_none() {
        pos = last_pos;
    }
    notes.reverse();
    let text = cx.sources.text(&file);
    let excerpt = pos
        .line()
        .and_then(|l| excerpt(text.as_deref()?, l, pos.position()));
    let mut message = message(cur, cx);
    if let (EvalAltResult::ErrorParsing(..), Some(word)) =
        (cur, text.as_deref().and_then(|t| word_at(t, pos)))
    {
        if KEYWORDS.contains(&word.as_str()) {
            message.push_str(&format!(
                "; `{word}` is a Rhai keyword, so it cannot name a variable, function, method or map key (in a map, quote it: #{{ \"{word}\": ... }})"
            ));
        }
    }
    ScriptError {
        file,
        line: pos.line(),
        column: pos.position(),
        message,
        excerpt,
        notes,
    }
}

/// Rhai's keywords and reserved words: none can be a name or a bare map key.
const KEYWORDS: &[&str] = &[
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "global",
    "this",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "Fn",
    "call",
    "curry",
    "print",
    "debug",
    "eval",
    "type_of",
    "var",
    "static",
    "shared",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "thread",
    "spawn",
    "go",
    "await",
    "async",
    "sync",
    "yield",
    "default",
    "void",
    "null",
    "nil",
];

/// The identifier at `pos` in `text`, if any.
fn word_at(text: &str, pos: Position) -> Option<String> {
    let line = text.lines().nth(pos.line()?.checked_sub(1)?)?;
    let word: String = line
        .chars()
        .skip(pos.position()?.saturating_sub(1))
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Longest source line shown whole in an error; a longer one is cut to
/// [`EXCERPT_CONTEXT`] characters either side of the column.
const MAX_EXCERPT_CHARS: usize = 200;
const EXCERPT_CONTEXT: usize = 80;

/// The source line `line` with a caret under `column` (a long line cut
/// around the column, marked with `...`).
fn excerpt(text: &str, line: usize, column: Option<usize>) -> Option<String> {
    let full = text.lines().nth(line.checked_sub(1)?)?;
    let mut col = column;
    let cut;
    let src = if full.chars().count() > MAX_EXCERPT_CHARS {
        let c = column.unwrap_or(1).saturating_sub(1);
        let start = c.saturating_sub(EXCERPT_CONTEXT);
        let body: String = full.chars().skip(start).take(2 * EXCERPT_CONTEXT).collect();
        let head = if start > 0 { "..." } else { "" };
        let more = full.chars().count() > start + 2 * EXCERPT_CONTEXT;
        cut = format!("{head}{body}{}", if more { "..." } else { "" });
        col = column.map(|c| c - start + head.len());
        cut.as_str()
    } else {
        full
    };
    let num = line.to_string();
    let pad = " ".repeat(num.len());
    let mut out = format!("{num} | {src}");
    if let Some(c) = col {
        // Keep tabs so the caret lines up under tab-indented code.
        let lead: String = src
            .chars()
            .take(c.saturating_sub(1))
            .map(|ch| if ch == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("\n{pad} | {lead}^"));
    }
    Some(out)
}

/// Rust type names in Rhai's messages, as scripts call them.
fn script_types(s: &str) -> String {
    s.replace("&str | ImmutableString | String", "string")
        .replace("&str | string | String", "string")
        .replace("i64", "int")
        .replace("f64", "float")
        .replace("ImmutableString", "string")
}

fn message(err: &EvalAltResult, cx: &ErrorContext) -> String {
    let l = cx.limits;
    match err {
        EvalAltResult::ErrorRuntime(v, _) => match v.clone().into_string() {
            Ok(s) => s,
            Err(_) => format!("thrown: {v}"),
        },
        EvalAltResult::ErrorParsing(ParseErrorType::VariableUndefined(v), _) => {
            format!("variable `{v}` is not defined: declare it with `let {v} = ...;` before this line")
        }
        EvalAltResult::ErrorParsing(ParseErrorType::ModuleUndefined(m), _) => {
            format!("module `{m}` is not imported: add `import \"...\" as {m};` before this line")
        }
        EvalAltResult::ErrorParsing(ParseErrorType::ExprTooDeep, _) => format!(
            "an expression or block is nested more than {} deep (each operator of a chain like a + b + c counts one level); simplify it, or split a long chain with variables, or {}",
            l.max_expr_depth.0,
            raise_hint("expr-depth", l.max_expr_depth.0 as u64, None)
        ),
        EvalAltResult::ErrorParsing(ParseErrorType::LiteralTooLarge(what, max), _) => {
            let name = data_limit(what);
            format!(
                "{what} is too large: more than {max}; {}",
                raise_hint(name, *max as u64, None)
            )
        }
        EvalAltResult::ErrorParsing(ParseErrorType::BadInput(rhai::LexError::Runtime(t)), _)
            if t == super::guard::COMPILE_TOKEN =>
        {
            compile_time_message(l)
        }
        EvalAltResult::ErrorParsing(p, _) => format!("syntax error: {p}"),
        EvalAltResult::ErrorFunctionNotFound(sig, _) => function_not_found(sig, cx.signatures),
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran more than {} operations and was stopped: if it loops forever, fix the loop; if it really needs more, {}",
            l.max_ops,
            raise_hint("ops", l.max_ops, None)
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "more than {} nested function calls: does a function call itself without end? If it really nests that deep, {}",
            l.max_call_levels,
            raise_hint("call-depth", l.max_call_levels as u64, None)
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let name = data_limit(what);
            let (max, unit) = match name {
                "string" => (l.max_string_size, "a string would be longer than {} bytes"),
                "map" => (l.max_map_size, "a map would have more than {} properties"),
                _ if what.contains("BLOB") => (
                    l.max_array_size,
                    "a BLOB would have more than {} bytes (BLOBs count against the array limit)",
                ),
                _ => (l.max_array_size, "an array would have more than {} items"),
            };
            format!(
                "{what} is too large: {}; {}",
                unit.replace("{}", &max.to_string()),
                raise_hint(name, max as u64, None)
            )
        }
        EvalAltResult::ErrorTooManyModules(_) => format!(
            "more than {} modules imported; {}",
            l.max_modules,
            raise_hint("modules", l.max_modules as u64, None)
        ),
        EvalAltResult::ErrorVariableNotFound(v, _) => format!("variable `{v}` is not defined"),
        EvalAltResult::ErrorPropertyNotFound(p, _) => format!("the map has no property `{p}`"),
        EvalAltResult::ErrorModuleNotFound(m, _) => format!("module \"{m}\" not found"),
        EvalAltResult::ErrorTerminated(token, _) if super::guard::is_token(token) => format!(
            "the script computed for more than {} s by itself and was stopped: operations on huge or deeply nested arrays and maps are slow (each one copies or measures the whole value); if it really needs longer, {}",
            l.max_script_time_s,
            raise_hint("script-time", l.max_script_time_s, None)
        ),
        EvalAltResult::ErrorTerminated(token, _) if super::guard::is_compile_token(token) => {
            compile_time_message(l)
        }
        EvalAltResult::ErrorTerminated(token, _) if super::guard::is_memory_token(token) => format!(
            "the run holds more than {} bytes of memory ({} MiB) and was stopped: everything it keeps counts (tables, strings, arrays and maps, lines printed by sweep points, modules, models and their results); keep less, or {}",
            l.max_memory,
            l.max_memory >> 20,
            raise_hint("memory", l.max_memory, None)
        ),
        EvalAltResult::ErrorTerminated(..) => "the run was interrupted".to_string(),
        other => {
            let s = other.to_string();
            let suffix = format!(" ({})", other.position());
            script_types(s.strip_suffix(&suffix).unwrap_or(&s))
        }
    }
}

/// The `script-time` limit reached while compiling (`guard::compile`).
fn compile_time_message(l: &super::context::Limits) -> String {
    format!(
        "compiling stopped here: the script has computed and compiled for more than {} s (compiling counts as script time); Rhai's compile time grows with the square of the number of functions and variables in one source, so split a huge generated source into smaller modules, or {}",
        l.max_script_time_s,
        raise_hint("script-time", l.max_script_time_s, None)
    )
}

/// The limit a Rhai size error is about: `string`, `array` or `map`.
fn data_limit(what: &str) -> &'static str {
    let w = what.to_ascii_lowercase();
    if w.contains("string") {
        "string"
    } else if w.contains("map") {
        "map"
    } else {
        "array"
    }
}

/// "no function `py` takes (string); py takes: py(d: Duration) -> Step".
fn function_not_found(sig: &str, signatures: &[Signature]) -> String {
    let sig = script_types(sig);
    let name = sig.split([' ', '(']).next().unwrap_or("");
    if name.starts_with("anon$") {
        return format!(
            "cannot call closure {sig}: a closure created inside an imported module cannot be called from outside it; define the closure in the main script"
        );
    }
    let args = sig.get(name.len()..).unwrap_or("").trim();
    let known: Vec<&str> = signatures
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.text.as_str())
        .collect();
    if known.is_empty() {
        format!("no function `{name}` taking {args}: is the name misspelt, or is it a method of another type?")
    } else {
        format!(
            "no function `{name}` taking {args}; it takes: {}",
            known.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_put_the_caret_under_the_column() {
        assert_eq!(
            excerpt("a\n\tlet x = y;\n", 2, Some(10)).unwrap(),
            "2 | \tlet x = y;\n  | \t        ^"
        );
        assert_eq!(excerpt("a", 5, Some(1)), None);
    }

    /// A 4 MB line is not echoed whole: 80 characters either side of the
    /// column, the caret still under it.
    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(1_000_000), "b".repeat(1_000_000));
        let e = excerpt(&line, 1, Some(1_000_001)).unwrap();
        assert!(e.len() < 400, "{} bytes", e.len());
        let (src, caret) = e.split_once('\n').unwrap();
        let col = caret.find('^').unwrap();
        assert_eq!(src.as_bytes()[col], b'X', "{e}");
        assert!(
            src.starts_with("1 | ...a") && src.ends_with("b..."),
            "{src}"
        );
        let short = excerpt(&"c".repeat(300), 1, Some(2)).unwrap();
        assert!(
            short.starts_with("1 | cc") && short.contains("c...\n"),
            "{short}"
        );
    }

    #[test]
    fn unknown_functions_list_the_signatures() {
        let sigs = vec![Signature {
            name: "py".into(),
            text: "py(d: Duration) -> Step".into(),
        }];
        let m = function_not_found("py (string)", &sigs);
        assert_eq!(
            m,
            "no function `py` taking (string); it takes: py(d: Duration) -> Step"
        );
        assert!(function_not_found("pyy (i64)", &sigs).contains("taking (int)"));
    }
}
