//! Confirmation of destructive commands: `--yes`, or the name typed on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use super::CliError;

/// Confirms `action` (e.g. `replacing pod data-1 destroys its volume`), which destroys
/// `name`: with `yes`, at once; on a terminal, by asking for `name` to be typed; else
/// refused, saying that `--yes` is needed.
pub fn confirm(action: &str, name: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::NotConfirmed(format!(
            "{action}: pass --yes to confirm (or run on a terminal and type {name:?})"
        )));
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{action}.\nType {name:?} to confirm: ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    check_answer(&answer, action, name)
}

/// Whether the typed `answer` names `name`.
fn check_answer(answer: &str, action: &str, name: &str) -> Result<(), CliError> {
    if answer.trim() == name {
        Ok(())
    } else {
        Err(CliError::NotConfirmed(format!(
            "{action}: not confirmed ({:?} is not {name:?}); nothing was done",
            answer.trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_confirms() {
        assert!(check_answer("data-1\n", "replacing", "data-1").is_ok());
        assert!(check_answer("  data-1  \n", "replacing", "data-1").is_ok());
        assert!(check_answer("data-2\n", "replacing", "data-1").is_err());
        assert!(check_answer("\n", "replacing", "data-1").is_err());
        assert!(check_answer("y\n", "replacing", "data-1").is_err());
    }

    #[test]
    fn yes_confirms_without_asking() {
        assert!(confirm("replacing", "data-1", true).is_ok());
    }
}
