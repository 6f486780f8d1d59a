//! Placement rules, in a Marathon-like string syntax.
//!
//! One rule is `<field>:<OPERATOR>[:<argument>]`; several are joined with `;`.
//! `<field>` is `hostname` or the name of an agent attribute (e.g. `zone`, `rack`).
//!
//! | rule | meaning |
//! |---|---|
//! | `hostname:UNIQUE` | at most one instance per distinct field value |
//! | `hostname:MAX_PER:2` | at most 2 instances per distinct field value |
//! | `rack:LIKE:rack-[12]` | only where the field fully matches the regex |
//! | `rack:UNLIKE:rack-3` | only where the field does not fully match the regex (or is absent) |
//! | `zone:IS:us-east-1a` | only where the field equals the value |
//! | `zone:GROUP_BY[:3]` | spread evenly across the field's values (across 3 if given) |
//!
//! Operators are case-insensitive; the canonical form is upper case. The argument
//! may contain `:` but not `;`.

use crate::error::RuleError;
use crate::suggest::suggestion;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The field naming the agent's host name rather than an attribute.
pub const HOSTNAME: &str = "hostname";

/// The operator names, as written.
pub const OPERATORS: &[&str] = &["UNIQUE", "MAX_PER", "LIKE", "UNLIKE", "IS", "GROUP_BY"];

/// One placement rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlacementRule {
    /// At most one instance per distinct value of `field`.
    Unique {
        /// `hostname` or an attribute name.
        field: String,
    },
    /// At most `max` instances per distinct value of `field`.
    MaxPer {
        /// `hostname` or an attribute name.
        field: String,
        /// The maximum per value (>= 1).
        max: u32,
    },
    /// Only on agents whose `field` fully matches `pattern`.
    Like {
        /// `hostname` or an attribute name.
        field: String,
        /// A regular expression, matched against the whole value.
        pattern: String,
    },
    /// Only on agents whose `field` does not fully match `pattern` (or lacks it).
    Unlike {
        /// `hostname` or an attribute name.
        field: String,
        /// A regular expression, matched against the whole value.
        pattern: String,
    },
    /// Only on agents whose `field` equals `value`.
    Is {
        /// `hostname` or an attribute name.
        field: String,
        /// The required value.
        value: String,
    },
    /// Spread instances evenly across the values of `field`.
    GroupBy {
        /// `hostname` or an attribute name.
        field: String,
        /// The number of distinct values expected, if known.
        groups: Option<u32>,
    },
}

fn err(rule: &str, why: impl fmt::Display) -> RuleError {
    RuleError::new(format!("invalid placement rule `{rule}`: {why}"))
}

fn check_field(rule: &str, field: &str) -> Result<(), RuleError> {
    if field.is_empty() {
        return Err(err(
            rule,
            "the field (`hostname` or an attribute name) is missing",
        ));
    }
    if let Some(c) = field
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')))
    {
        return Err(err(
            rule,
            format!("field `{field}` contains `{c}`; use letters, digits, `_`, `-`, `.` or `/`"),
        ));
    }
    Ok(())
}

fn check_pattern(rule: &str, pattern: &str) -> Result<(), RuleError> {
    if pattern.is_empty() {
        return Err(err(rule, "the regular expression is empty"));
    }
    anchored(pattern)
        .map(|_| ())
        .map_err(|e| err(rule, format!("bad regular expression `{pattern}`: {e}")))
}

fn anchored(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{pattern})$"))
}

fn positive(rule: &str, what: &str, arg: &str) -> Result<u32, RuleError> {
    match arg.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(err(
            rule,
            format!("{what} must be a whole number >= 1, got `{arg}`"),
        )),
    }
}

impl PlacementRule {
    /// Parses one rule, e.g. `hostname:MAX_PER:2`.
    pub fn parse(rule: &str) -> Result<Self, RuleError> {
        let rule = rule.trim();
        let mut parts = rule.splitn(3, ':');
        let field_text = parts.next().unwrap_or_default().trim();
        let field = field_text.to_string();
        let Some(op) = parts.next().map(str::trim) else {
            return Err(err(
                rule,
                "expected `<field>:<OPERATOR>[:<argument>]`, e.g. `hostname:UNIQUE`",
            ));
        };
        let arg = parts.next();
        check_field(rule, field_text)?;
        let upper = op.to_ascii_uppercase();
        let need_arg = |what: &str| {
            arg.filter(|a| !a.is_empty()).ok_or_else(|| {
                err(
                    rule,
                    format!("{upper} needs {what}, e.g. `{field_text}:{upper}:<{what}>`"),
                )
            })
        };
        let no_arg = || match arg {
            Some(a) => Err(err(rule, format!("{upper} takes no argument, got `{a}`"))),
            None => Ok(()),
        };
        let parsed = match upper.as_str() {
            "UNIQUE" => {
                no_arg()?;
                PlacementRule::Unique { field }
            }
            "MAX_PER" => {
                let max = positive(rule, "the maximum", need_arg("a maximum")?)?;
                PlacementRule::MaxPer { field, max }
            }
            "LIKE" => PlacementRule::Like {
                field,
                pattern: need_arg("a regex")?.to_string(),
            },
            "UNLIKE" => PlacementRule::Unlike {
                field,
                pattern: need_arg("a regex")?.to_string(),
            },
            "IS" => PlacementRule::Is {
                field,
                value: need_arg("a value")?.to_string(),
            },
            "GROUP_BY" => {
                let groups = match arg {
                    Some(a) => Some(positive(rule, "the number of groups", a)?),
                    None => None,
                };
                PlacementRule::GroupBy { field, groups }
            }
            "" => {
                return Err(err(
                    rule,
                    format!(
                        "the operator is missing; expected one of {}",
                        OPERATORS.join(", ")
                    ),
                ));
            }
            _ => {
                return Err(err(
                    rule,
                    format!(
                        "unknown operator `{op}`{}; expected one of {}",
                        suggestion(&upper, OPERATORS.iter().copied()),
                        OPERATORS.join(", ")
                    ),
                ));
            }
        };
        parsed.check()?;
        Ok(parsed)
    }

    /// Parses one or several rules joined with `;` (empty parts are ignored).
    pub fn parse_all(rules: &str) -> Result<Vec<Self>, RuleError> {
        rules
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(Self::parse)
            .collect()
    }

    /// Checks a rule built in code (parsed rules are always valid).
    pub fn check(&self) -> Result<(), RuleError> {
        let rule = self.to_string();
        check_field(&rule, self.field())?;
        match self {
            PlacementRule::Like { pattern, .. } | PlacementRule::Unlike { pattern, .. } => {
                check_pattern(&rule, pattern)
            }
            PlacementRule::MaxPer { max: 0, .. } => Err(err(
                &rule,
                "the maximum must be a whole number >= 1, got `0`",
            )),
            PlacementRule::GroupBy {
                groups: Some(0), ..
            } => Err(err(
                &rule,
                "the number of groups must be a whole number >= 1, got `0`",
            )),
            PlacementRule::Is { value, .. } if value.is_empty() => {
                Err(err(&rule, "IS needs a value"))
            }
            _ => Ok(()),
        }
    }

    /// The field the rule looks at (`hostname` or an attribute name).
    pub fn field(&self) -> &str {
        match self {
            PlacementRule::Unique { field }
            | PlacementRule::MaxPer { field, .. }
            | PlacementRule::Like { field, .. }
            | PlacementRule::Unlike { field, .. }
            | PlacementRule::Is { field, .. }
            | PlacementRule::GroupBy { field, .. } => field,
        }
    }

    /// Whether the rule looks at the agent's host name.
    pub fn is_hostname(&self) -> bool {
        self.field() == HOSTNAME
    }

    /// Whether `value` fully matches the regex `pattern` (as LIKE/UNLIKE use it);
    /// an invalid pattern matches nothing.
    pub fn pattern_matches(pattern: &str, value: &str) -> bool {
        anchored(pattern).is_ok_and(|re| re.is_match(value))
    }
}

impl fmt::Display for PlacementRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlacementRule::Unique { field } => write!(f, "{field}:UNIQUE"),
            PlacementRule::MaxPer { field, max } => write!(f, "{field}:MAX_PER:{max}"),
            PlacementRule::Like { field, pattern } => write!(f, "{field}:LIKE:{pattern}"),
            PlacementRule::Unlike { field, pattern } => write!(f, "{field}:UNLIKE:{pattern}"),
            PlacementRule::Is { field, value } => write!(f, "{field}:IS:{value}"),
            PlacementRule::GroupBy {
                field,
                groups: None,
            } => write!(f, "{field}:GROUP_BY"),
            PlacementRule::GroupBy {
                field,
                groups: Some(n),
            } => write!(f, "{field}:GROUP_BY:{n}"),
        }
    }
}

impl FromStr for PlacementRule {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PlacementRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PlacementRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PlacementRule {
        PlacementRule::parse(s).unwrap()
    }

    fn e(s: &str) -> String {
        PlacementRule::parse(s).unwrap_err().message
    }

    #[test]
    fn parses_every_operator() {
        assert_eq!(
            p("hostname:UNIQUE"),
            PlacementRule::Unique {
                field: "hostname".into()
            }
        );
        assert_eq!(
            p("hostname:MAX_PER:2"),
            PlacementRule::MaxPer {
                field: "hostname".into(),
                max: 2
            }
        );
        assert_eq!(
            p("rack:LIKE:rack-[12]"),
            PlacementRule::Like {
                field: "rack".into(),
                pattern: "rack-[12]".into()
            }
        );
        assert_eq!(
            p("rack:unlike:rack-3"),
            PlacementRule::Unlike {
                field: "rack".into(),
                pattern: "rack-3".into()
            }
        );
        assert_eq!(
            p("zone:IS:a:b"),
            PlacementRule::Is {
                field: "zone".into(),
                value: "a:b".into()
            }
        );
        assert_eq!(
            p("zone:GROUP_BY"),
            PlacementRule::GroupBy {
                field: "zone".into(),
                groups: None
            }
        );
        assert_eq!(
            p("zone:GROUP_BY:3"),
            PlacementRule::GroupBy {
                field: "zone".into(),
                groups: Some(3)
            }
        );
        assert!(p("hostname:UNIQUE").is_hostname());
    }

    #[test]
    fn parses_lists_and_round_trips() {
        let rules = PlacementRule::parse_all("hostname:UNIQUE; zone:GROUP_BY:2;").unwrap();
        assert_eq!(rules.len(), 2);
        for r in &rules {
            assert_eq!(&p(&r.to_string()), r);
        }
        assert!(PlacementRule::parse_all("").unwrap().is_empty());
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(json, r#"["hostname:UNIQUE","zone:GROUP_BY:2"]"#);
        let back: Vec<PlacementRule> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rules);
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(e("hostname").contains("expected `<field>:<OPERATOR>"));
        assert!(e("hostname:UNIQ").contains("unknown operator `UNIQ` (did you mean `UNIQUE`?)"));
        assert!(e("hostname:UNIQUE:3").contains("UNIQUE takes no argument"));
        assert!(e("hostname:MAX_PER").contains("MAX_PER needs a maximum"));
        assert!(e("hostname:MAX_PER:0").contains("whole number >= 1, got `0`"));
        assert!(e("hostname:MAX_PER:x").contains("got `x`"));
        assert!(e("rack:LIKE:(").contains("bad regular expression"));
        assert!(e(":UNIQUE").contains("field"));
        assert!(e("host name:UNIQUE").contains("contains ` `"));
        assert!(e("zone:IS").contains("IS needs a value"));
        assert!(e("zone:GROUP_BY:0").contains("number of groups"));
        assert!(e("zone:").contains("operator is missing"));
        assert!(PlacementRule::parse_all("hostname:UNIQUE;bad").is_err());
        assert!(
            PlacementRule::Like {
                field: "a".into(),
                pattern: "[".into()
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn pattern_matching_is_anchored() {
        assert!(PlacementRule::pattern_matches("rack-[12]", "rack-1"));
        assert!(!PlacementRule::pattern_matches("rack-[12]", "rack-12"));
        assert!(!PlacementRule::pattern_matches("rack", "my-rack"));
        assert!(!PlacementRule::pattern_matches("(", "("));
    }
}
