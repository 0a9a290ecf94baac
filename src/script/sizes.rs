//! The `string`, `array` and `map` limits, checked in constant time by the
//! functions and operators that grow a value.
//!
//! Rhai can enforce these limits itself, but then it measures the whole
//! value (every nested array, map and string) after every call that
//! touches an array or a map, `len()` included, so a loop that fills an
//! array to n items takes time n²: a million `push`es took minutes. Rhai's
//! own limits are therefore off (`Host::new`), and the functions below
//! replace Rhai's standard ones of the same name and argument types: each
//! does what Rhai's does (the same results), after checking the size the
//! value would have, from lengths it already knows. Operators reach them
//! because `Host::new` turns Rhai's built-in operator shortcuts off.
//!
//! What a limit now counts: the bytes of one string, the items of one
//! array or BLOB, the properties of one map, each at its top level; what
//! values hold inside them is bounded by the `memory` limit (checked at
//! every operation). Values grown in ways no function sees are bounded by
//! the `memory` and `ops` limits only (see docs/robustness.md, "Known
//! limits"): an interpolated string (`` `${s}${s}` ``), an array or map
//! literal, the text of a value (`to_string`, `to_json`), a map grown by
//! `m[key] = value` or `m.key = value` (checked when `len`, `keys` or
//! `values` is next called on it, and by every function below).
//!
//! The functions replaced were found in the signatures of Rhai 1.27's
//! standard library (every function taking or returning a string, array,
//! BLOB or map); the others cannot return a value larger than the values
//! they were given (`split`, `to_chars`, `keys`: at most one item per byte
//! or property; `map`, `zip`, `filter`: at most one item per item).
//! `every_way_of_growing_a_value_stops_at_its_limit` (below) runs each.

use super::context::Limits;
use rhai::{
    Array, Blob, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Position,
    INT,
};

type Checked<T> = Result<T, Box<EvalAltResult>>;

/// The three limits, in bytes, items and properties.
#[derive(Clone, Copy, Debug)]
struct Max {
    string: usize,
    array: usize,
    map: usize,
}

/// Rhai's error for a value over a size limit; `errors.rs` names the limit
/// from `what` ("string", "map", else array).
fn too_large(what: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(what.to_string(), Position::NONE).into()
}

impl Max {
    fn string(self, bytes: usize) -> Checked<()> {
        if bytes > self.string {
            return Err(too_large("Length of string"));
        }
        Ok(())
    }
    fn array(self, items: usize) -> Checked<()> {
        if items > self.array {
            return Err(too_large("Size of array"));
        }
        Ok(())
    }
    fn blob(self, bytes: usize) -> Checked<()> {
        if bytes > self.array {
            return Err(too_large("Size of BLOB"));
        }
        Ok(())
    }
    fn map(self, properties: usize) -> Checked<()> {
        if properties > self.map {
            return Err(too_large("Size of object map"));
        }
        Ok(())
    }
}

/// Rhai's `calc_offset_len`: a start (negative counts from the end) and a
/// length, clamped to an array of `length` items.
fn offset_len(length: usize, start: INT, len: INT) -> (usize, usize) {
    let start = if start < 0 {
        usize::try_from(start.unsigned_abs()).map_or(0, |x| length - usize::min(x, length))
    } else if usize::try_from(start).map_or(true, |x| x >= length) {
        return (length, 0);
    } else {
        usize::try_from(start).unwrap_or(length)
    };
    let len = if len <= 0 {
        0
    } else if usize::try_from(len).map_or(true, |x| x > length - start) {
        length - start
    } else {
        usize::try_from(len).unwrap_or(0)
    };
    (start, len)
}

/// A value as `+` and `+=` append it to a string: its `to_string`, as
/// Rhai's `print_with_func` does.
fn text_of(ctx: &NativeCallContext, item: &mut Dynamic) -> ImmutableString {
    match ctx.call_native_fn_raw(rhai::FUNC_TO_STRING, true, &mut [item]) {
        Ok(r) if r.is_string() => r.into_immutable_string().unwrap_or_default(),
        Ok(r) => ctx.engine().map_type_name(r.type_name()).into(),
        Err(_) => ctx.engine().map_type_name(&item.to_string()).into(),
    }
}

fn concat(a: &str, b: &str) -> ImmutableString {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s.into()
}

/// Replaces Rhai's standard functions that grow a value with checked ones.
pub fn register(engine: &mut Engine, limits: &Limits) {
    let m = Max {
        string: limits.max_string_size,
        array: limits.max_array_size,
        map: limits.max_map_size,
    };
    strings(engine, m);
    arrays(engine, m);
    blobs(engine, m);
    maps(engine, m);
}

fn strings(engine: &mut Engine, m: Max) {
    engine
        .register_fn("+", move |a: ImmutableString, b: ImmutableString| {
            m.string(a.len() + b.len())?;
            Checked::Ok(concat(&a, &b))
        })
        .register_fn("+", move |a: ImmutableString, c: char| {
            m.string(a.len() + c.len_utf8())?;
            Checked::Ok(concat(&a, c.encode_utf8(&mut [0; 4])))
        })
        .register_fn("+", move |c: char, a: ImmutableString| {
            m.string(a.len() + c.len_utf8())?;
            Checked::Ok(concat(c.encode_utf8(&mut [0; 4]), &a))
        })
        .register_fn(
            "+",
            move |ctx: NativeCallContext, a: ImmutableString, mut item: Dynamic| {
                let t = text_of(&ctx, &mut item);
                m.string(a.len() + t.len())?;
                Checked::Ok(concat(&a, &t))
            },
        )
        .register_fn(
            "+",
            move |ctx: NativeCallContext, mut item: Dynamic, a: ImmutableString| {
                let t = text_of(&ctx, &mut item);
                m.string(a.len() + t.len())?;
                Checked::Ok(concat(&t, &a))
            },
        )
        .register_fn("+", move |a: ImmutableString, utf8: Blob| {
            let t = String::from_utf8_lossy(&utf8);
            m.string(a.len() + t.len())?;
            Checked::Ok(concat(&a, &t))
        })
        .register_fn("+", move |utf8: Blob, a: ImmutableString| {
            let t = String::from_utf8_lossy(&utf8);
            m.string(a.len() + t.len())?;
            Checked::Ok(concat(&t, &a))
        })
        .register_fn("+=", move |a: &mut ImmutableString, b: ImmutableString| {
            m.string(a.len() + b.len())?;
            *a += b;
            Checked::Ok(())
        })
        .register_fn("+=", move |a: &mut ImmutableString, c: char| {
            m.string(a.len() + c.len_utf8())?;
            *a += c;
            Checked::Ok(())
        });
    for name in ["+=", "append"] {
        engine
            .register_fn(
                name,
                move |ctx: NativeCallContext, a: &mut ImmutableString, mut item: Dynamic| {
                    let t = text_of(&ctx, &mut item);
                    m.string(a.len() + t.len())?;
                    if !t.is_empty() {
                        *a = concat(a, &t);
                    }
                    Checked::Ok(())
                },
            )
            .register_fn(name, move |a: &mut ImmutableString, utf8: Blob| {
                let t = String::from_utf8_lossy(&utf8);
                m.string(a.len() + t.len())?;
                if !t.is_empty() {
                    *a = concat(a, &t);
                }
                Checked::Ok(())
            });
    }
    // pad(len, ...): `len` counts characters, as in Rhai.
    let pad = move |a: &mut ImmutableString, len: INT, padding: &str| -> Checked<()> {
        if len <= 0 || padding.is_empty() {
            return Ok(());
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        m.string(len)?;
        let mut chars = a.chars().count();
        if len <= chars {
            return Ok(());
        }
        // At most 4 bytes a character: the final size is checked first.
        let unit = padding.chars().count();
        let whole = (len - chars) / unit;
        let part: String = padding.chars().take((len - chars) % unit).collect();
        m.string(a.len() + whole * padding.len() + part.len())?;
        let mut s = String::with_capacity(a.len() + whole * padding.len() + part.len());
        s.push_str(a);
        while chars + unit <= len {
            s.push_str(padding);
            chars += unit;
        }
        s.push_str(&part);
        *a = s.into();
        Ok(())
    };
    engine
        .register_fn(
            "pad",
            move |a: &mut ImmutableString, len: INT, c: char| -> Checked<()> {
                pad(a, len, c.encode_utf8(&mut [0; 4]))
            },
        )
        .register_fn(
            "pad",
            move |a: &mut ImmutableString, len: INT, padding: ImmutableString| -> Checked<()> {
                pad(a, len, &padding)
            },
        );
    // replace(find, substitute): the result's size is known before it is built.
    let replace = move |a: &mut ImmutableString, find: &str, sub: &str| -> Checked<()> {
        if a.is_empty() {
            return Ok(());
        }
        if sub.len() > find.len() {
            let n = a.matches(find).count();
            m.string(a.len() + n * (sub.len() - find.len()))?;
        }
        *a = a.replace(find, sub).into();
        Ok(())
    };
    engine
        .register_fn(
            "replace",
            move |a: &mut ImmutableString, f: ImmutableString, s: ImmutableString| {
                replace(a, &f, &s)
            },
        )
        .register_fn(
            "replace",
            move |a: &mut ImmutableString, f: ImmutableString, s: char| {
                replace(a, &f, s.encode_utf8(&mut [0; 4]))
            },
        )
        .register_fn(
            "replace",
            move |a: &mut ImmutableString, f: char, s: ImmutableString| {
                replace(a, f.encode_utf8(&mut [0; 4]), &s)
            },
        )
        .register_fn(
            "replace",
            move |a: &mut ImmutableString, f: char, s: char| {
                replace(a, f.encode_utf8(&mut [0; 4]), s.encode_utf8(&mut [0; 4]))
            },
        );
}

fn arrays(engine: &mut Engine, m: Max) {
    let append = move |a: &mut Array, b: Array| -> Checked<()> {
        m.array(a.len() + b.len())?;
        if a.is_empty() {
            *a = b;
        } else {
            a.extend(b);
        }
        Ok(())
    };
    let splice = move |a: &mut Array, start: INT, len: INT, with: Array| -> Checked<()> {
        if a.is_empty() {
            m.array(with.len())?;
            *a = with;
            return Ok(());
        }
        let (start, len) = offset_len(a.len(), start, len);
        m.array(a.len() - len + with.len())?;
        if start >= a.len() {
            a.extend(with);
        } else {
            a.splice(start..start + len, with);
        }
        Ok(())
    };
    engine
        .register_fn("push", move |a: &mut Array, item: Dynamic| {
            m.array(a.len() + 1)?;
            a.push(item);
            Checked::Ok(())
        })
        .register_fn("+=", move |a: &mut Array, item: Dynamic| {
            m.array(a.len() + 1)?;
            a.push(item);
            Checked::Ok(())
        })
        .register_fn("+=", append)
        .register_fn("append", append)
        .register_fn("+", move |mut a: Array, b: Array| {
            append(&mut a, b)?;
            Checked::Ok(a)
        })
        .register_fn("insert", move |a: &mut Array, index: INT, item: Dynamic| {
            m.array(a.len() + 1)?;
            let (index, _) = offset_len(a.len(), index, 0);
            if index >= a.len() {
                a.push(item);
            } else {
                a.insert(index, item);
            }
            Checked::Ok(())
        })
        .register_fn("pad", move |a: &mut Array, len: INT, item: Dynamic| {
            let Ok(len) = usize::try_from(len) else {
                return Checked::Ok(());
            };
            if len > a.len() {
                m.array(len)?;
                a.resize(len, item);
            }
            Checked::Ok(())
        })
        .register_fn("splice", splice)
        .register_fn(
            "splice",
            move |a: &mut Array, r: std::ops::Range<INT>, with: Array| {
                let start = INT::max(r.start, 0);
                let end = INT::max(r.end, start);
                splice(a, start, end - start, with)
            },
        )
        .register_fn(
            "splice",
            move |a: &mut Array, r: std::ops::RangeInclusive<INT>, with: Array| {
                let start = INT::max(*r.start(), 0);
                let end = INT::min(INT::max(*r.end(), start), INT::MAX - 1);
                splice(a, start, end - start + 1, with)
            },
        );
}

fn blobs(engine: &mut Engine, m: Max) {
    let byte = |v: INT| (v & 0xff) as u8;
    let extend = move |b: &mut Blob, more: &[u8]| -> Checked<()> {
        m.blob(b.len() + more.len())?;
        b.extend_from_slice(more);
        Ok(())
    };
    let append = move |b: &mut Blob, more: Blob| -> Checked<()> {
        m.blob(b.len() + more.len())?;
        if b.is_empty() {
            *b = more;
        } else {
            b.extend(more);
        }
        Ok(())
    };
    let splice = move |b: &mut Blob, start: INT, len: INT, with: Blob| -> Checked<()> {
        if b.is_empty() {
            m.blob(with.len())?;
            *b = with;
            return Ok(());
        }
        let (start, len) = offset_len(b.len(), start, len);
        m.blob(b.len() - len + with.len())?;
        if len == 0 {
            b.extend(with);
        } else {
            b.splice(start..start + len, with);
        }
        Ok(())
    };
    let new = move |len: INT, value: INT| -> Checked<Blob> {
        if len <= 0 {
            return Ok(Blob::new());
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        m.blob(len)?;
        Ok(vec![byte(value); len])
    };
    engine
        .register_fn("blob", move |len: INT| new(len, 0))
        .register_fn("blob", new)
        .register_fn("+", move |mut a: Blob, b: Blob| {
            append(&mut a, b)?;
            Checked::Ok(a)
        })
        .register_fn("pad", move |b: &mut Blob, len: INT, value: INT| {
            if len <= 0 {
                return Checked::Ok(());
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            m.blob(len)?;
            if len > b.len() {
                b.resize(len, byte(value));
            }
            Checked::Ok(())
        })
        .register_fn("insert", move |b: &mut Blob, index: INT, value: INT| {
            m.blob(b.len() + 1)?;
            let (index, _) = offset_len(b.len(), index, 0);
            if index >= b.len() {
                b.push(byte(value));
            } else {
                b.insert(index, byte(value));
            }
            Checked::Ok(())
        })
        .register_fn("splice", splice)
        .register_fn(
            "splice",
            move |b: &mut Blob, r: std::ops::Range<INT>, with: Blob| {
                let start = INT::max(r.start, 0);
                let end = INT::max(r.end, start);
                splice(b, start, end - start, with)
            },
        )
        .register_fn(
            "splice",
            move |b: &mut Blob, r: std::ops::RangeInclusive<INT>, with: Blob| {
                let start = INT::max(*r.start(), 0);
                let end = INT::min(INT::max(*r.end(), start), INT::MAX - 1);
                splice(b, start, end - start + 1, with)
            },
        );
    engine.register_fn("push", move |b: &mut Blob, v: INT| extend(b, &[byte(v)]));
    for name in ["+=", "append"] {
        engine
            .register_fn(name, append)
            .register_fn(name, move |b: &mut Blob, v: INT| extend(b, &[byte(v)]))
            .register_fn(name, move |b: &mut Blob, c: char| {
                extend(b, c.encode_utf8(&mut [0; 4]).as_bytes())
            })
            .register_fn(name, move |b: &mut Blob, s: ImmutableString| {
                extend(b, s.as_bytes())
            });
    }
}

fn maps(engine: &mut Engine, m: Max) {
    // Keys of `b` not in `a`: how many properties merging adds.
    let added = |a: &Map, b: &Map| b.keys().filter(|k| !a.contains_key(*k)).count();
    let mixin = move |a: &mut Map, b: Map| -> Checked<()> {
        m.map(a.len() + added(a, &b))?;
        a.extend(b);
        Ok(())
    };
    engine
        .register_fn("+", move |mut a: Map, b: Map| {
            mixin(&mut a, b)?;
            Checked::Ok(a)
        })
        .register_fn("+=", mixin)
        .register_fn("mixin", mixin)
        .register_fn("fill_with", move |a: &mut Map, b: Map| {
            m.map(a.len() + added(a, &b))?;
            if a.is_empty() {
                *a = b;
            } else {
                for (k, v) in b {
                    a.entry(k).or_insert(v);
                }
            }
            Checked::Ok(())
        })
        .register_fn(
            "set",
            move |a: &mut Map, key: ImmutableString, value: Dynamic| {
                match a.get_mut(key.as_str()) {
                    Some(v) => *v = value,
                    None => {
                        m.map(a.len() + 1)?;
                        a.insert(key.as_str().into(), value);
                    }
                }
                Checked::Ok(())
            },
        )
        // A map grown by `m[key] = value` (which calls no function) is
        // checked when it is next measured or listed.
        .register_fn("len", move |a: &mut Map| {
            m.map(a.len())?;
            Checked::Ok(INT::try_from(a.len()).unwrap_or(INT::MAX))
        })
        .register_fn("keys", move |a: &mut Map| {
            m.map(a.len())?;
            Checked::Ok(
                a.keys()
                    .map(|k| Dynamic::from(ImmutableString::from(k.as_str())))
                    .collect::<Array>(),
            )
        })
        .register_fn("values", move |a: &mut Map| {
            m.map(a.len())?;
            Checked::Ok(a.values().cloned().collect::<Array>())
        });
}

#[cfg(test)]
mod tests;
