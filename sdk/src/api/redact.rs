//! Hiding secret-looking environment values from operator answers.
//!
//! Services put credentials in their tasks' environment, and that environment shows in
//! a pod's task info (Mesos `Environment.Variable`s) and in a stored configuration (a
//! command's `env` map). A variable whose name contains one of [`SECRET_WORDS`]
//! (case-insensitively) keeps its name, and its value is replaced by [`REDACTED`].

use serde_json::Value;

/// What a hidden value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Words that make a variable name secret-looking (compared upper-cased).
pub const SECRET_WORDS: [&str; 7] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
];

/// Whether a variable named `name` probably holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
}

/// Replaces, anywhere in `value`, the values of secret-looking variables: those of
/// Mesos `environment.variables` (`{"name", "value"}` objects) and those of `env` maps.
pub fn redact_environment(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match (key.as_str(), &mut *field) {
                    ("env", Value::Object(env)) => redact_map(env),
                    ("variables", Value::Array(variables)) => {
                        variables.iter_mut().for_each(redact_variable);
                    }
                    _ => redact_environment(field),
                }
            }
        }
        Value::Array(elements) => elements.iter_mut().for_each(redact_environment),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Hides the secret-looking entries of a `{name: value}` map.
fn redact_map(env: &mut serde_json::Map<String, Value>) {
    for (name, value) in env.iter_mut() {
        if is_secret_name(name) {
            *value = Value::from(REDACTED);
        }
    }
}

/// Hides the value of one `{"name", "value"}` variable if its name is secret-looking.
fn redact_variable(variable: &mut Value) {
    let Value::Object(fields) = variable else {
        return;
    };
    let secret = fields
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(is_secret_name);
    if secret && let Some(value) = fields.get_mut("value") {
        *value = Value::from(REDACTED);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_looking_names() {
        for name in [
            "DB_PASSWORD",
            "api_token",
            "AwsSecretAccessKey",
            "SSH_KEY",
            "credentials",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "PORT_HTTP", "JAVA_OPTS"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn task_environment_and_spec_env_are_redacted() {
        let mut value = json!({
            "task_info": {"command": {"environment": {"variables": [
                {"name": "DB_PASSWORD", "type": "VALUE", "value": "hunter2"},
                {"name": "MODE", "type": "VALUE", "value": "fast"},
            ]}}},
            "spec": {"task_types": [{"command": {"env": {"API_TOKEN": "t0k", "LEVEL": "3"}}}]},
        });
        redact_environment(&mut value);
        let variables = &value["task_info"]["command"]["environment"]["variables"];
        assert_eq!(variables[0]["value"], REDACTED);
        assert_eq!(variables[0]["name"], "DB_PASSWORD");
        assert_eq!(variables[1]["value"], "fast");
        let env = &value["spec"]["task_types"][0]["command"]["env"];
        assert_eq!(env["API_TOKEN"], REDACTED);
        assert_eq!(env["LEVEL"], "3");
        assert!(!value.to_string().contains("hunter2"));
    }
}
