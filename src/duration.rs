//! Serde helpers writing a [`std::time::Duration`] as a human string
//! ("125s", "1s 500ms") with `humantime`. Use as
//! `#[serde(with = "crate::duration")]`, or `crate::duration::option` for
//! `Option<Duration>`. A leaf module: the config sections of every other
//! module use it, and it uses none of them.

use serde::{de, Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Write a duration as a human string.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// Read a duration from a human string such as "125s".
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(de::Error::custom)
}

fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?}: {e} (write e.g. \"300s\", \"2m\" or \"500ms\")")
    })
}

/// The same for `Option<Duration>`.
pub mod option {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Write an optional duration (`None` as a unit/none value).
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    /// Read an optional duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse(&text).map(Some).map_err(de::Error::custom),
            None => Ok(None),
        }
    }
}
