//! Whole-spec validation: every rule of [`crate::rules`] applied to a
//! [`ServiceSpec`], collecting all errors with their location.

use crate::error::{RuleError, SpecError, SpecErrors};
use crate::model::{CheckSpec, CommandSpec, Commands, ServiceSpec, TaskTypeSpec};
use crate::rules;

/// The location prefix for errors in task type `name`.
pub fn task_location(name: &str) -> String {
    format!("task type `{name}`")
}

struct Collector<'a> {
    location: &'a str,
    errors: &'a mut SpecErrors,
}

impl Collector<'_> {
    fn check<T>(&mut self, result: Result<T, RuleError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e.at(self.location));
                None
            }
        }
    }

    fn message(&mut self, message: String) {
        self.errors.push(SpecError {
            location: self.location.to_string(),
            message,
        });
    }
}

impl ServiceSpec {
    /// Checks every rule and returns all the violations, each naming where it is.
    pub fn validate(&self) -> Result<(), SpecErrors> {
        let mut errors = SpecErrors::default();
        let location = format!("service `{}`", self.name);
        let mut c = Collector {
            location: &location,
            errors: &mut errors,
        };
        c.check(rules::service_name(&self.name));
        c.check(rules::role(&self.role));
        c.check(rules::principal(&self.principal));
        if self.task_types.is_empty() {
            c.message("a service needs at least one task type".to_string());
        }
        for (_, e) in rules::duplicates(
            "task type name",
            self.task_types.iter().map(|t| t.name.as_str()),
            str::to_string,
        ) {
            c.check::<()>(Err(e));
        }
        for task in &self.task_types {
            task.validate_into(self, &mut errors);
        }
        errors.into_result(())
    }
}

impl TaskTypeSpec {
    fn validate_into(&self, service: &ServiceSpec, errors: &mut SpecErrors) {
        let location = task_location(&self.name);
        let mut c = Collector {
            location: &location,
            errors,
        };
        c.check(rules::task_name(&self.name));
        c.check(rules::count(i64::from(self.count)));

        match &self.command {
            Commands::Template(command) => check_command(&mut c, command, ""),
            Commands::PerInstance(list) => {
                if list.len() != self.count as usize {
                    c.message(format!(
                        "has {} per-instance commands but count is {}",
                        list.len(),
                        self.count
                    ));
                }
                for (i, command) in list.iter().enumerate() {
                    check_command(&mut c, command, &format!("instance {i}: "));
                }
            }
        }

        for (_, e) in rules::duplicates(
            "resource",
            self.resources.iter().map(|r| r.name.as_str()),
            str::to_string,
        ) {
            c.check::<()>(Err(e));
        }
        for r in &self.resources {
            c.check(rules::resource_name(&r.name));
            c.check(rules::resource(&r.name, r.value));
            check_reservation(
                &mut c,
                service,
                &format!("resource `{}`", r.name),
                &r.role,
                &r.principal,
            );
        }
        for required in ["cpus", "mem"] {
            if self.resource(required).is_none() {
                c.message(format!(
                    "`{required}` is missing; every task type declares cpus and mem"
                ));
            }
        }

        for v in &self.volumes {
            c.check(rules::volume_size(v.size_mib));
            c.check(rules::container_path(&v.container_path));
            check_reservation(
                &mut c,
                service,
                &format!("volume `{}`", v.container_path),
                &v.role,
                &v.principal,
            );
        }
        for (_, e) in rules::duplicates(
            "volume path",
            self.volumes.iter().map(|v| v.container_path.as_str()),
            rules::normalize_path,
        ) {
            c.check::<()>(Err(e));
        }

        for p in &self.ports {
            c.check(rules::port_name(&p.name));
        }
        for (_, e) in rules::duplicates(
            "port name",
            self.ports.iter().map(|p| p.name.as_str()),
            |n| n.to_ascii_lowercase(),
        ) {
            c.check::<()>(Err(e));
        }
        let statics: Vec<String> = self
            .ports
            .iter()
            .filter(|p| p.port != 0)
            .map(|p| p.port.to_string())
            .collect();
        for (_, e) in rules::duplicates(
            "port number",
            statics.iter().map(String::as_str),
            str::to_string,
        ) {
            c.check::<()>(Err(e));
        }

        for rule in &self.placement {
            c.check(rule.check());
        }
        if let Some(check) = &self.health_check {
            check_check(&mut c, "health check", check);
        }
        if let Some(check) = &self.readiness_check {
            check_check(&mut c, "readiness check", check);
        }
        if let Some(d) = self.kill_grace_period {
            c.check(rules::positive_duration("kill_grace_period", d));
        }
    }
}

fn prefixed(prefix: &str, r: Result<(), RuleError>) -> Result<(), RuleError> {
    r.map_err(|e| RuleError::new(format!("{prefix}{}", e.message)))
}

fn check_command(c: &mut Collector<'_>, command: &CommandSpec, prefix: &str) {
    c.check(prefixed(prefix, rules::command(&command.value)));
    for u in &command.uris {
        c.check(prefixed(prefix, rules::uri(&u.value)));
    }
    for (name, value) in &command.env {
        c.check(prefixed(prefix, rules::env_name(name)));
        c.check(prefixed(
            prefix,
            rules::template(&format!("environment variable `{name}`"), value),
        ));
    }
}

fn check_reservation(
    c: &mut Collector<'_>,
    service: &ServiceSpec,
    what: &str,
    role: &str,
    principal: &str,
) {
    if role != service.role {
        c.message(format!(
            "{what} is reserved for role `{role}` but the service registers with role `{}`",
            service.role
        ));
    }
    c.check(rules::principal(principal));
}

fn check_check(c: &mut Collector<'_>, what: &str, check: &CheckSpec) {
    if check.command.trim().is_empty() {
        c.message(format!("{what} command must not be empty"));
    } else {
        c.check(rules::template(&format!("{what} command"), &check.command));
    }
    c.check(rules::positive_duration(
        &format!("{what} interval"),
        check.interval,
    ));
    c.check(rules::positive_duration(
        &format!("{what} timeout"),
        check.timeout,
    ));
    c.check(rules::max_failures(i64::from(
        check.max_consecutive_failures,
    )));
}
