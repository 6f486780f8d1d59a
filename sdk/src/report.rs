//! Errors as an operator reads them: [`Report`] shows an error and its causes as plain
//! text, each message once; [`exit_code`] prints a failed run's error and turns the
//! outcome into the process's exit code.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

/// Any error, with its causes.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// An error and its causes as plain text: the error's message, then each cause on its
/// own `caused by:` line, leaving out a cause whose text the message before it already
/// contains (many errors quote their source).
#[derive(Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !shown.contains(&text) {
                write!(f, "\ncaused by: {text}")?;
            }
            shown = text;
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints `error` to stderr as `error: <message>` followed by its causes (see [`Report`]).
pub fn print_error(error: &(dyn Error + 'static)) {
    eprintln!("error: {}", Report(error));
}

/// Success for `Ok`; for `Err`, prints the error once with its causes (see
/// [`print_error`]) and returns failure.
pub fn exit_code<E: Into<BoxError>>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e: BoxError = e.into();
            print_error(&*e);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and maybe a source.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn Error + 'static))
        }
    }

    fn chain(messages: &[&'static str]) -> Layer {
        let mut iter = messages.iter().rev();
        let mut e = Layer(iter.next().expect("one message at least"), None);
        for m in iter {
            e = Layer(m, Some(Box::new(e)));
        }
        e
    }

    #[test]
    fn each_cause_on_its_own_line() {
        let e = chain(&["cannot start", "state file busy", "os error 11"]);
        assert_eq!(
            Report(&e).to_string(),
            "cannot start\ncaused by: state file busy\ncaused by: os error 11"
        );
    }

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let e = chain(&[
            "state backend failure at \"/x\": disk full",
            "disk full",
            "write failed: no space",
            "no space",
        ]);
        assert_eq!(
            Report(&e).to_string(),
            "state backend failure at \"/x\": disk full\ncaused by: write failed: no space"
        );
    }

    #[test]
    fn stead_errors_print_their_causes_once() {
        let io = std::io::Error::other("disk full");
        let e = crate::Error::from(io);
        assert_eq!(Report(&e).to_string(), "disk full");
        let spec = crate::Error::from(stead_spec::SpecErrors(vec![
            stead_spec::RuleError::new("count must be >= 1").at("task type `data`"),
        ]));
        assert_eq!(
            Report(&spec).to_string(),
            "invalid service specification: task type `data`: count must be >= 1"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(Ok::<(), crate::Error>(())), ExitCode::SUCCESS);
        assert_eq!(exit_code(Err(crate::Error::Stopped)), ExitCode::FAILURE);
    }
}
