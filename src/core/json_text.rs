//! JSON text out: objects written member by member, and any parsed
//! `Value`. Written by hand so that no serializer is linked (see
//! docs/size.md); the tests hold it to serde_json's output.

use serde_json::{Number, Value};
use std::fmt::Write;

/// A JSON object written member by member, in the order given.
#[derive(Debug)]
pub(crate) struct ObjectText(String);

impl ObjectText {
    /// `{`.
    pub(crate) fn new() -> Self {
        Self(String::from("{"))
    }

    fn name(&mut self, name: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_str(&mut self.0, name);
        self.0.push(':');
        &mut self.0
    }

    /// A string member.
    pub(crate) fn string(mut self, name: &str, value: &str) -> Self {
        push_str(self.name(name), value);
        self
    }

    /// A string member, or `null`.
    pub(crate) fn opt_string(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => push_str(self.name(name), v),
            None => self.name(name).push_str("null"),
        }
        self
    }

    /// A number member, or `null`.
    pub(crate) fn number(mut self, name: &str, value: Option<u64>) -> Self {
        let out = self.name(name);
        match value {
            // Writing into a String cannot fail.
            Some(v) => drop(write!(out, "{v}")),
            None => out.push_str("null"),
        }
        self
    }

    /// A boolean member.
    pub(crate) fn bool(mut self, name: &str, value: bool) -> Self {
        self.name(name)
            .push_str(if value { "true" } else { "false" });
        self
    }

    /// A member holding any JSON value (`null` when absent).
    pub(crate) fn value(mut self, name: &str, value: Option<&Value>) -> Self {
        let out = self.name(name);
        match value {
            Some(v) => push_value(out, v),
            None => out.push_str("null"),
        }
        self
    }

    /// The text, with its closing `}`.
    pub(crate) fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// `value` as JSON text.
pub fn to_text(value: &Value) -> String {
    let mut out = String::new();
    push_value(&mut out, value);
    out
}

/// Writes `value`. Values come from parsed JSON, whose nesting the parser
/// bounds (128 levels), so the recursion is bounded too.
fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_number(out, n),
        Value::String(s) => push_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str(out, k);
                out.push(':');
                push_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Integers as they are; other numbers in Rust's shortest round-trip
/// decimal form with a `.0` added to whole ones (`1.5`, `2.0`), which JSON
/// reads back to the same double. Parsed JSON holds no NaN or infinity.
fn push_number(out: &mut String, n: &Number) {
    // Writing into a String cannot fail.
    if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        let start = out.len();
        let _ = write!(out, "{f}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        out.push_str("null");
    }
}

/// A JSON string (RFC 8259 §7): `"` and `\` escaped, control characters as
/// `\n`, `\t`, … or `\u00XX`; everything else as it is.
pub(crate) fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

// Not on wasm32: proptest is a native dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            // Short decimals, which serde_json's parser (not correctly
            // rounded without its float_roundtrip feature) reads exactly;
            // every double is checked against Rust's parser below.
            (any::<i32>(), 0..4_u32)
                .prop_map(|(m, e)| Value::from(f64::from(m) / f64::from(10_u32.pow(e)))),
            any::<String>().prop_map(Value::from),
            "[\\x00-\\x1f\"\\\\a\u{2028}é😀]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // What it writes parses back to the same value, and strings are
        // byte for byte serde_json's.
        #[test]
        fn round_trips_through_serde_json(v in arb_value()) {
            let text = to_text(&v);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, &v);
            if let Value::String(_) = v {
                prop_assert_eq!(text, serde_json::to_string(&v).unwrap());
            }
        }

        // Every finite double is written as a JSON number that a correctly
        // rounding parser (JSON.parse; Rust's) reads back exactly.
        #[test]
        fn doubles_are_exact_json_numbers(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let Some(n) = Number::from_f64(f) else { return Ok(()) };
            let mut text = String::new();
            push_number(&mut text, &n);
            prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), f.to_bits());
            prop_assert!(serde_json::from_str::<Number>(&text).is_ok(), "{}", text);
        }
    }

    #[test]
    fn writes_objects_member_by_member() {
        let text = ObjectText::new()
            .string("a", "x\"y")
            .opt_string("b", None)
            .number("n", Some(7))
            .number("m", None)
            .bool("t", true)
            .value("c", Some(&json!({"k": [1, -2, 1.5, 2.0]})))
            .finish();
        assert_eq!(
            text,
            r#"{"a":"x\"y","b":null,"n":7,"m":null,"t":true,"c":{"k":[1,-2,1.5,2.0]}}"#
        );
        assert_eq!(ObjectText::new().finish(), "{}");
    }
}
