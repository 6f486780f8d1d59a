//! Conversions between the canonical [`CommandSpec`] and Mesos' `CommandInfo`.

use crate::proto::v1::{CommandInfo, Environment, command_info, environment};
use stead_spec::{CommandSpec, UriSpec};

/// The Mesos form of a command: a shell command line, its URIs and environment.
pub fn command_info(spec: &CommandSpec) -> CommandInfo {
    let variables: Vec<environment::Variable> = spec
        .env
        .iter()
        .map(|(name, value)| environment::Variable {
            name: name.clone(),
            r#type: Some(environment::variable::Type::Value as i32),
            value: Some(value.clone()),
            secret: None,
        })
        .collect();
    CommandInfo {
        uris: spec
            .uris
            .iter()
            .map(|u| command_info::Uri {
                value: u.value.clone(),
                executable: Some(u.executable),
                extract: Some(u.extract),
                cache: None,
                output_file: None,
            })
            .collect(),
        environment: (!variables.is_empty()).then_some(Environment { variables }),
        shell: Some(true),
        value: Some(spec.value.clone()),
        ..CommandInfo::default()
    }
}

/// Quotes a word for `/bin/sh` when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '+' | ',' | '@')
        });
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The canonical form of a Mesos command. A non-shell command (`shell: false`,
/// `value` the executable and `arguments` its argv) becomes the equivalent quoted
/// shell command line; secret environment variables are left out.
pub fn command_spec(info: &CommandInfo) -> CommandSpec {
    let value = if info.shell() {
        info.value().to_string()
    } else {
        std::iter::once(info.value())
            .chain(info.arguments.iter().skip(1).map(String::as_str))
            .map(shell_word)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let env = info
        .environment
        .iter()
        .flat_map(|e| e.variables.iter())
        .filter(|v| v.r#type() != environment::variable::Type::Secret)
        .map(|v| (v.name.clone(), v.value().to_string()))
        .collect();
    CommandSpec {
        value,
        uris: info
            .uris
            .iter()
            .map(|u| UriSpec {
                value: u.value.clone(),
                extract: u.extract(),
                executable: u.executable(),
            })
            .collect(),
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut spec = CommandSpec::new("./data --id 1");
        spec.uris.push(UriSpec::new("http://storage/data.zip"));
        spec.uris.push(UriSpec {
            value: "file:///opt/run.sh".into(),
            extract: false,
            executable: true,
        });
        spec.env.insert("MODE".into(), "data".into());
        let info = command_info(&spec);
        assert_eq!(info.value(), "./data --id 1");
        assert!(info.shell());
        assert_eq!(info.uris.len(), 2);
        assert!(info.uris[1].executable() && !info.uris[1].extract());
        assert_eq!(command_spec(&info), spec);
        assert!(command_info(&CommandSpec::new("x")).environment.is_none());
    }

    #[test]
    fn mesos_defaults_and_non_shell_commands() {
        let info = CommandInfo {
            value: Some("/bin/echo".into()),
            shell: Some(false),
            arguments: vec!["echo".into(), "hello world".into(), "it's".into()],
            uris: vec![command_info::Uri {
                value: "http://x/a.tgz".into(),
                ..Default::default()
            }],
            environment: Some(Environment {
                variables: vec![
                    environment::Variable {
                        name: "A".into(),
                        value: Some("1".into()),
                        ..Default::default()
                    },
                    environment::Variable {
                        name: "S".into(),
                        r#type: Some(environment::variable::Type::Secret as i32),
                        ..Default::default()
                    },
                ],
            }),
            ..Default::default()
        };
        let spec = command_spec(&info);
        assert_eq!(spec.value, r"/bin/echo 'hello world' 'it'\''s'");
        // Mesos defaults: extract = true, executable = false.
        assert_eq!(spec.uris, vec![UriSpec::new("http://x/a.tgz")]);
        assert_eq!(spec.env.len(), 1);
        assert_eq!(spec.env["A"], "1");
    }
}
