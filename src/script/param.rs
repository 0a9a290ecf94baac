//! `param(name, default)`: a value the command line may override with
//! `--set name=value`.
//!
//! The default fixes the parameter's type: an integer parameter takes
//! `--set n=8`, a float takes `0.5` or `2`, a bool `true`/`false`, a
//! `Duration` a number with a unit (`500us`, `5ms`, `2s`), a string anything.
//! A value of the wrong type is an error naming the parameter, the value and
//! the type expected, so a typo never runs the default experiment silently.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::values::describe;
use crate::sweep::params::{ParamValue, Source};
use gilsim_engine::SimDuration;
use rhai::Dynamic;
use std::sync::Arc;

fn to_dynamic(v: &ParamValue) -> Dynamic {
    match v {
        ParamValue::Int(i) => Dynamic::from_int(*i),
        ParamValue::Float(x) => Dynamic::from_float(*x),
        ParamValue::Bool(b) => Dynamic::from_bool(*b),
        ParamValue::Duration(d) => Dynamic::from(*d),
        ParamValue::Text(s) => s.clone().into(),
    }
}

/// The default as a parameter value, or an error for unsupported types.
fn from_default(name: &str, d: &Dynamic) -> RhaiResult<ParamValue> {
    let d = d.flatten_clone();
    if let Ok(i) = d.as_int() {
        Ok(ParamValue::Int(i))
    } else if let Ok(x) = d.as_float() {
        Ok(ParamValue::Float(x))
    } else if let Ok(b) = d.as_bool() {
        Ok(ParamValue::Bool(b))
    } else if let Some(t) = d.clone().try_cast::<SimDuration>() {
        Ok(ParamValue::Duration(t))
    } else if d.is_string() {
        Ok(ParamValue::Text(d.into_string().unwrap_or_default()))
    } else {
        Err(format!("param(\"{name}\", ...): the default must be an integer, float, bool, string or Duration, got {}", describe(&d)).into())
    }
}

/// The override converted to the default's type.
fn convert(
    name: &str,
    raw: &str,
    given: &ParamValue,
    default: &ParamValue,
) -> RhaiResult<ParamValue> {
    let wrong = |expected: &str| -> Box<rhai::EvalAltResult> {
        format!(
            "--set {name}={raw}: parameter `{name}` expects {expected} (its default is {default})"
        )
        .into()
    };
    Ok(match (default, given) {
        (ParamValue::Int(_), ParamValue::Int(i)) => ParamValue::Int(*i),
        (ParamValue::Int(_), _) => return Err(wrong("an integer")),
        (ParamValue::Float(_), ParamValue::Int(i)) => ParamValue::Float(*i as f64),
        (ParamValue::Float(_), ParamValue::Float(x)) => ParamValue::Float(*x),
        (ParamValue::Float(_), _) => return Err(wrong("a number")),
        (ParamValue::Bool(_), ParamValue::Bool(b)) => ParamValue::Bool(*b),
        (ParamValue::Bool(_), _) => return Err(wrong("true or false")),
        (ParamValue::Duration(_), ParamValue::Duration(d)) => ParamValue::Duration(*d),
        (ParamValue::Duration(_), _) => {
            return Err(wrong("a duration with a unit, like 500us, 5ms or 2s"))
        }
        (ParamValue::Text(_), _) => ParamValue::Text(raw.to_string()),
    })
}

fn param(ctx: &RunContext, name: &str, default: Option<Dynamic>) -> RhaiResult<Dynamic> {
    let over = ctx.params.get_override(name);
    let (value, source) = match (default, over) {
        (None, None) => {
            return Err(format!(
                "parameter `{name}` has no default and was not given; run with --set {name}=VALUE"
            )
            .into())
        }
        (None, Some((_, v))) => (v.clone(), Source::Override),
        (Some(d), None) => (from_default(name, &d)?, Source::Default),
        (Some(d), Some((raw, v))) => (
            convert(name, raw, v, &from_default(name, &d)?)?,
            Source::Override,
        ),
    };
    ctx.params.record(name, value.clone(), source);
    Ok(to_dynamic(&value))
}

/// Registers `param()`.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    add!(
        api,
        "param(name: string) -> value",
        move |name: &str| param(&c, name, None)
    );
    add!(
        api,
        "param(name: string, default) -> value",
        move |name: &str, d: Dynamic| param(&ctx, name, Some(d))
    );
}
