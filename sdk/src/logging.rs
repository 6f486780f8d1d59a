//! Logging of a service binary: [`init`] sends the scheduler's log to stderr, filtered by
//! `RUST_LOG` (default `info`), in colour only on a terminal and without `NO_COLOR`.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Sends the log to stderr: the levels `RUST_LOG` asks for (`info` when it is unset or
/// empty; invalid directives are reported and ignored), with colour codes only when
/// stderr is a terminal and `NO_COLOR` is unset or empty. Does nothing when a global
/// subscriber is already set, so calling it twice is harmless.
pub fn init() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    // An error only says that a subscriber is already set: that one stays.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Whether to colour the log: on a terminal, unless `NO_COLOR` holds a non-empty value
/// (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new(""))));
    }
}
