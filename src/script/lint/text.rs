//! Reading a script's text for the check: identifiers, brackets, the parts
//! of a call, a likely misspelling. Shared by `lint.rs` and `receivers.rs`.

use crate::script::options::closest;

/// Characters of code with their line and column (see [`code_chars`]).
pub(super) type Code = [(char, usize, usize)];

pub(super) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index just past the bracket matching the one at `open`.
pub(super) fn matching(code: &[(char, usize, usize)], open: usize) -> usize {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut i = open;
    while i < code.len() {
        let c = code[i].0;
        if c == '"' {
            in_str = !in_str;
        } else if !in_str {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    code.len()
}

/// Top-level comma-separated parts of the bracket at `open`: (start, end) indices.
pub(super) fn parts(code: &[(char, usize, usize)], open: usize) -> Vec<(usize, usize)> {
    let end = matching(code, open).saturating_sub(1);
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, open + 1);
    for (i, &(c, _, _)) in code.iter().enumerate().take(end).skip(open + 1) {
        if c == '"' {
            in_str = !in_str;
        } else if !in_str {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push((start, i));
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    if code[start..end].iter().any(|c| !c.0.is_whitespace()) {
        out.push((start, end));
    }
    out
}

/// The name of `pool` that `name` is most likely a misspelling of: a close
/// one, or one it is a longer or shorter spelling of (`ops_per_second` for
/// `ops_per_sec`).
pub(super) fn near<'a>(name: &str, pool: &[&'a str]) -> Option<&'a str> {
    closest(name, pool).or_else(|| {
        pool.iter()
            .copied()
            .filter(|p| p.len() >= 4 && (name.starts_with(p) || p.starts_with(name)))
            .max_by_key(|p| p.len())
    })
}
