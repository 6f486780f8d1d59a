//! Error types: a single rule violation, a located spec error, and a collection of them.

use std::fmt;

/// A single rule violation, with a human message (no location).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// The human-readable message, e.g. "cpus must be a finite number greater than 0, got 0".
    pub message: String,
}

impl RuleError {
    /// Creates a rule error from a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// Places this error at `location` (e.g. "task type `data`").
    pub fn at(self, location: impl Into<String>) -> SpecError {
        SpecError {
            location: location.into(),
            message: self.message,
        }
    }
}

/// A rule violation found in a service specification, naming where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// Where the error is, e.g. "task type `data`" or "--set data.count=0"; empty for the whole spec.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

/// All the errors found in one specification (never empty when returned as an error).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[SpecError] {
        &self.0
    }

    /// Whether no error was collected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one error.
    pub fn push(&mut self, error: SpecError) {
        self.0.push(error);
    }

    /// `Ok(value)` when no error was collected, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, SpecErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid service specification: {one}"),
            many => {
                write!(f, "invalid service specification ({} errors):", many.len())?;
                for e in many {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SpecErrors {}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}

impl IntoIterator for SpecErrors {
    type Item = SpecError;
    type IntoIter = std::vec::IntoIter<SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
