//! Typed members of a JSON object, read by hand instead of by a derived
//! deserializer: the module links one JSON parser (serde_json's `Value`)
//! and no per-type visitors (see docs/size.md).
//!
//! Every error is [`Error::Config`] naming the member as the options spell
//! it (`tokenUrl`, `refresh.minLeadMs`) and never quoting its value, which
//! may be a secret put in the wrong place. An absent member and `null` read
//! the same: JS callers write either.

use super::error::Error;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The members of one JSON object, checked against the names it may have.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Members<'a> {
    map: &'a Map<String, Value>,
    /// Put before member names in errors (`"refresh."`, or `""`).
    prefix: &'static str,
}

impl<'a> Members<'a> {
    /// Reads `value` as an object whose members are all in `known`. `name`
    /// names the object itself in errors; `prefix` goes before its members'
    /// names.
    pub(crate) fn of(
        value: &'a Value,
        name: &'static str,
        prefix: &'static str,
        known: &[&str],
    ) -> Result<Self, Error> {
        let map = value
            .as_object()
            .ok_or_else(|| Error::config(name, "must be an object"))?;
        let members = Self { map, prefix };
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(Error::config(members.path(unknown), "is not an option")),
            None => Ok(members),
        }
    }

    fn path(&self, name: &str) -> Cow<'static, str> {
        if self.prefix.is_empty() {
            Cow::Owned(name.to_owned())
        } else {
            Cow::Owned(format!("{}{name}", self.prefix))
        }
    }

    /// The member `name`, unless it is absent or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// An optional string.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, Error> {
        self.get(name)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::config(self.path(name), "must be a string"))
            })
            .transpose()
    }

    /// A string that must be present.
    pub(crate) fn required(&self, name: &str) -> Result<String, Error> {
        self.string(name)?
            .ok_or_else(|| Error::config(self.path(name), "is required"))
    }

    /// An optional boolean.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        self.get(name)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| Error::config(self.path(name), "must be true or false"))
            })
            .transpose()
    }

    /// An optional whole number of at least 0.
    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>, Error> {
        self.get(name)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| Error::config(self.path(name), "must be a whole number ≥ 0"))
            })
            .transpose()
    }

    /// An optional number.
    pub(crate) fn f64(&self, name: &str) -> Result<Option<f64>, Error> {
        self.get(name)
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| Error::config(self.path(name), "must be a number"))
            })
            .transpose()
    }

    /// An object of strings (`{ "audience": "api" }`); empty when absent.
    pub(crate) fn strings(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        let Some(v) = self.get(name) else {
            return Ok(BTreeMap::new());
        };
        let wrong = || Error::config(self.path(name), "must be an object of strings");
        // Inserted one by one: collecting into a map would link a sort.
        let mut out = BTreeMap::new();
        for (k, v) in v.as_object().ok_or_else(wrong)? {
            out.insert(k.clone(), v.as_str().ok_or_else(wrong)?.to_owned());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn members(v: &Value) -> Result<Members<'_>, Error> {
        Members::of(v, "refresh", "refresh.", &["a", "b", "n", "m"])
    }

    #[test]
    fn reads_types_and_names_the_member() {
        let v = json!({"a": "x", "b": true, "n": 5, "m": {"k": "v"}});
        let m = members(&v).unwrap();
        assert_eq!(m.required("a").unwrap(), "x");
        assert_eq!(m.bool("b").unwrap(), Some(true));
        assert_eq!(m.u64("n").unwrap(), Some(5));
        assert_eq!(m.f64("n").unwrap(), Some(5.0));
        assert_eq!(
            m.strings("m").unwrap().get("k").map(String::as_str),
            Some("v")
        );
        assert_eq!(
            m.string("b").unwrap_err().to_string(),
            "\"refresh.b\" must be a string"
        );
        assert_eq!(
            m.u64("a").unwrap_err().to_string(),
            "\"refresh.a\" must be a whole number ≥ 0"
        );
        assert_eq!(
            m.strings("n").unwrap_err().to_string(),
            "\"refresh.n\" must be an object of strings"
        );
        let empty = json!({"a": null});
        let m = members(&empty).unwrap();
        assert_eq!(m.string("a").unwrap(), None);
        assert_eq!(
            m.required("a").unwrap_err().to_string(),
            "\"refresh.a\" is required"
        );
        assert!(m.strings("m").unwrap().is_empty());
    }

    #[test]
    fn unknown_members_and_non_objects_are_refused_without_values() {
        let e = members(&json!({"a": "x", "clientSecert": "SENTINEL"})).unwrap_err();
        assert_eq!(e.to_string(), "\"refresh.clientSecert\" is not an option");
        let e = members(&json!("SENTINEL")).unwrap_err();
        assert_eq!(e.to_string(), "\"refresh\" must be an object");
        let e = members(&json!({"n": -1.5})).unwrap().u64("n").unwrap_err();
        assert!(!e.to_string().contains("1.5"));
    }
}
