//! Sizes and durations with units.
//!
//! Sizes are expressed in MiB (the unit Mesos uses for `mem` and `disk`). Accepted
//! units: binary `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024) and decimal `KB`, `MB`,
//! `GB`, `TB` (powers of 1000 bytes, converted to MiB, so `100 MB` is about 95.4 MiB).
//! A size always needs a unit: `512 MiB`, `10 GiB`, `1.5GiB`.
//!
//! Durations accept `ns`, `us`, `ms`, `s`, `m` and `h`, with integer or decimal
//! numbers: `10s`, `250ms`, `1.5s`, `5m`.

use crate::error::RuleError;
use crate::suggest::suggestion;
use std::time::Duration;

const MIB: f64 = 1024.0 * 1024.0;

/// Size units and their value in MiB.
pub const SIZE_UNITS: &[(&str, f64)] = &[
    ("KiB", 1.0 / 1024.0),
    ("MiB", 1.0),
    ("GiB", 1024.0),
    ("TiB", 1024.0 * 1024.0),
    ("KB", 1e3 / MIB),
    ("MB", 1e6 / MIB),
    ("GB", 1e9 / MIB),
    ("TB", 1e12 / MIB),
];

/// Duration units and their value in seconds.
pub const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
];

fn unit_names(units: &'static [(&'static str, f64)]) -> impl Iterator<Item = &'static str> {
    units.iter().map(|(n, _)| *n)
}

fn size_units_list() -> String {
    "KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)".to_string()
}

/// The message for a size written without a unit.
pub fn missing_size_unit(number: &str) -> RuleError {
    RuleError::new(format!(
        "size `{number}` needs a unit: {}, e.g. `{number} MiB`",
        size_units_list()
    ))
}

/// The message for a duration written without a unit.
pub fn missing_duration_unit(number: &str) -> RuleError {
    RuleError::new(format!(
        "duration `{number}` needs a unit: ms, s, m or h, e.g. `{number}s`"
    ))
}

/// Converts `number unit` to MiB, e.g. `(10.0, "GiB")` -> 10240.0.
pub fn size_mib(number: f64, unit: &str) -> Result<f64, RuleError> {
    let Some((_, factor)) = SIZE_UNITS.iter().find(|(n, _)| *n == unit) else {
        return Err(RuleError::new(format!(
            "unknown size unit `{unit}`{}; expected {}",
            suggestion(unit, unit_names(SIZE_UNITS)),
            size_units_list()
        )));
    };
    if !number.is_finite() || number < 0.0 {
        return Err(RuleError::new(format!(
            "a size must be a finite number >= 0, got {number}"
        )));
    }
    Ok(number * factor)
}

/// Splits "12.5 GiB" / "12.5GiB" into its number and its unit ("" when there is none).
fn split_number(s: &str) -> (&str, &str) {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+'))
        .map_or(s.len(), |(i, _)| i);
    (s[..end].trim(), s[end..].trim())
}

fn parse_number(number: &str, original: &str, what: &str) -> Result<f64, RuleError> {
    number
        .parse::<f64>()
        .map_err(|_| RuleError::new(format!("cannot read `{original}` as a {what}")))
}

/// Parses a size such as "512 MiB" or "10GiB" into MiB.
pub fn parse_size(s: &str) -> Result<f64, RuleError> {
    let (number, unit) = split_number(s);
    if number.is_empty() {
        return Err(RuleError::new(format!(
            "cannot read `{s}` as a size; write a number and a unit, e.g. `512 MiB`"
        )));
    }
    let value = parse_number(number, s, "size")?;
    if unit.is_empty() {
        return Err(missing_size_unit(number));
    }
    size_mib(value, unit)
}

/// Converts `number unit` to a duration, e.g. `(1.5, "s")` -> 1500 ms.
pub fn duration(number: f64, unit: &str) -> Result<Duration, RuleError> {
    let Some((_, factor)) = DURATION_UNITS.iter().find(|(n, _)| *n == unit) else {
        return Err(RuleError::new(format!(
            "unknown duration unit `{unit}`{}; expected ms, s, m or h",
            suggestion(unit, unit_names(DURATION_UNITS))
        )));
    };
    if !number.is_finite() || number < 0.0 {
        return Err(RuleError::new(format!(
            "a duration must be a finite number >= 0, got {number}"
        )));
    }
    Duration::try_from_secs_f64(number * factor)
        .map_err(|_| RuleError::new(format!("duration `{number}{unit}` is too long")))
}

/// Parses a duration such as "10s", "250ms", "1.5s" or "5m".
pub fn parse_duration(s: &str) -> Result<Duration, RuleError> {
    let (number, unit) = split_number(s);
    if number.is_empty() {
        return Err(RuleError::new(format!(
            "cannot read `{s}` as a duration; write a number and a unit, e.g. `10s`"
        )));
    }
    let value = parse_number(number, s, "duration")?;
    if unit.is_empty() {
        return Err(missing_duration_unit(number));
    }
    duration(value, unit)
}

/// Formats a duration exactly, in the largest unit that represents it without loss
/// ("10s", "1500ms", "5m"); `parse_duration` reads it back.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    const UNITS: &[(&str, u128)] = &[
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ];
    if nanos == 0 {
        return "0s".to_string();
    }
    for (unit, per) in UNITS {
        if nanos.is_multiple_of(*per) {
            return format!("{}{unit}", nanos / per);
        }
    }
    format!("{nanos}ns")
}

/// Formats a size in MiB with the largest binary unit that represents it exactly.
pub fn format_size_mib(mib: f64) -> String {
    if mib >= 1024.0 * 1024.0 && (mib / (1024.0 * 1024.0)).fract() == 0.0 {
        format!("{} TiB", mib / (1024.0 * 1024.0))
    } else if mib >= 1024.0 && (mib / 1024.0).fract() == 0.0 {
        format!("{} GiB", mib / 1024.0)
    } else {
        format!("{mib} MiB")
    }
}

/// Serde helpers writing durations in their human form ("10s").
pub mod serde_duration {
    use super::{format_duration, parse_duration};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::time::Duration;

    /// Serializes a duration as "10s".
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    /// Reads a duration written as "10s".
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(D::Error::custom)
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use super::*;

        /// Serializes an optional duration as "10s" or null.
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&format_duration(*d)),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional duration written as "10s" or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => parse_duration(&s).map(Some).map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512 MiB").unwrap(), 512.0);
        assert_eq!(parse_size("10 GiB").unwrap(), 10240.0);
        assert_eq!(parse_size("10GiB").unwrap(), 10240.0);
        assert_eq!(parse_size("1 TiB").unwrap(), 1048576.0);
        assert_eq!(parse_size("1.5 GiB").unwrap(), 1536.0);
        assert_eq!(parse_size("512 KiB").unwrap(), 0.5);
        let mb = parse_size("100 MB").unwrap();
        assert!((mb - 95.367_431_640_625).abs() < 1e-9, "{mb}");
        assert_eq!(parse_size("0 MiB").unwrap(), 0.0);
    }

    #[test]
    fn size_errors() {
        let e = parse_size("512").unwrap_err();
        assert!(e.message.contains("size `512` needs a unit"), "{e}");
        let e = parse_size("512 Mib").unwrap_err();
        assert_eq!(
            e.message,
            "unknown size unit `Mib` (did you mean `MiB`?); expected KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)"
        );
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("1.2.3 MiB").is_err());
        assert!(parse_size("-1 MiB").unwrap_err().message.contains(">= 0"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2 h").unwrap(), Duration::from_secs(7200));
        assert!(
            parse_duration("10")
                .unwrap_err()
                .message
                .contains("needs a unit")
        );
        assert!(
            parse_duration("10 sec")
                .unwrap_err()
                .message
                .contains("did you mean `s`")
        );
        assert!(parse_duration("1e300h").is_err());
    }

    #[test]
    fn duration_round_trip() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_millis(1500),
            Duration::from_secs(300),
            Duration::from_secs(7200),
            Duration::from_nanos(17),
            Duration::from_micros(3),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn size_format() {
        assert_eq!(format_size_mib(512.0), "512 MiB");
        assert_eq!(format_size_mib(10240.0), "10 GiB");
        assert_eq!(format_size_mib(1048576.0), "1 TiB");
    }
}
