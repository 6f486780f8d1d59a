//! Human views of API answers.

use std::fmt::Write as _;
use std::io::Write as _;

use super::{CliError, PlanRow};
use stead::api::{OffersDebug, PodInfo, PodSummary, ResourceSummary};
use stead::plan::PlanSnapshot;

/// Writes `text` and a newline to stdout (a closed pipe is not an error).
pub fn emit(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Left-aligned columns separated by two spaces.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(text, "{cell:<w$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out.trim_end().to_string()
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

/// One resource as `name amount` (scalars) or `name a-b,c-d` (ranges).
fn resource(r: &ResourceSummary) -> String {
    let amount = match r.scalar {
        Some(v) => format!("{v}"),
        None => r
            .ranges
            .iter()
            .map(|[a, b]| format!("{a}-{b}"))
            .collect::<Vec<_>>()
            .join(","),
    };
    match &r.role {
        Some(role) => format!("{} {amount} ({role})", r.name),
        None => format!("{} {amount}", r.name),
    }
}

/// `stead debug offers`.
pub fn offers(debug: &OffersDebug) -> String {
    let rows: Vec<Vec<String>> = debug
        .offers
        .iter()
        .map(|o| {
            let resources: Vec<String> = o.resources.iter().map(resource).collect();
            vec![o.offer_id.clone(), o.hostname.clone(), resources.join(", ")]
        })
        .collect();
    let mut out = format!("latest offers ({})\n", debug.offers.len());
    out.push_str(&table(&["OFFER", "HOST", "RESOURCES"], &rows));
    if debug.steps.is_empty() {
        out.push_str("\nno pending steps");
    }
    for step in &debug.steps {
        let _ = write!(out, "\n\nstep {} of plan {}\n", step.step, step.plan);
        let rows: Vec<Vec<String>> = step
            .outcomes
            .iter()
            .map(|o| {
                let used = if o.used { "yes" } else { "no" };
                vec![o.offer_id.clone(), used.into(), o.reason.clone()]
            })
            .collect();
        out.push_str(&table(&["OFFER", "USED", "WHY"], &rows));
    }
    out
}

/// `stead plan list`.
pub fn plan_list(plans: &[PlanRow]) -> String {
    let rows: Vec<Vec<String>> = plans
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.status.to_string(),
                p.errors.len().to_string(),
            ]
        })
        .collect();
    table(&["PLAN", "STATUS", "ERRORS"], &rows)
}

/// `stead plan show`: the plan, its phases and their steps, then errors.
pub fn plan(plan: &PlanSnapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) {}",
        plan.name,
        serde_plain(&plan.strategy),
        plan.status
    );
    for phase in &plan.phases {
        let _ = writeln!(
            out,
            "  {} ({}) {}",
            phase.name,
            serde_plain(&phase.strategy),
            phase.status
        );
        let width = phase.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for step in &phase.steps {
            let line = format!(
                "    {:<width$}  {:<11}  {}",
                step.name,
                step.status.to_string(),
                step.message
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    let errors = stead::api::plan_errors(plan);
    if !errors.is_empty() {
        let _ = writeln!(out, "errors:");
        for e in errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    out.trim_end().to_string()
}

/// A serde unit variant's name (e.g. a strategy's `serial`).
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// Milliseconds since the Unix epoch now (0 if the system clock is before it).
pub fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A duration in its largest whole unit, as `kubectl` shows ages: `42s`, `5m`, `3h`, `2d`.
fn age(millis: u64) -> String {
    let secs = millis / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// `stead pod list`; with `wide_at` (now, in milliseconds since the epoch) also the
/// readiness, restarts and age (`-o wide`).
pub fn pod_list(pods: &[PodSummary], wide_at: Option<u64>) -> String {
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|p| {
            let mut row = vec![
                p.instance.clone(),
                or_dash(p.state.as_deref()),
                or_dash(p.hostname.as_deref()),
                or_dash(p.agent_id.as_deref()),
                or_dash(p.task_id.as_deref()),
            ];
            if let Some(now) = wide_at {
                row.push(if p.ready { "yes" } else { "no" }.into());
                row.push(p.restarts.to_string());
                row.push(
                    p.running_since_ms
                        .map_or_else(|| "-".into(), |since| age(now.saturating_sub(since))),
                );
            }
            row
        })
        .collect();
    let mut header = vec!["POD", "STATE", "HOST", "AGENT", "TASK"];
    if wide_at.is_some() {
        header.extend(["READY", "RESTARTS", "AGE"]);
    }
    table(&header, &rows)
}

/// `stead pod info`.
pub fn pod_info(info: &PodInfo) -> String {
    let str_at = |value: &Option<serde_json::Value>, key: &str| {
        value.as_ref().and_then(|v| v.get(key)).and_then(|v| {
            v.as_str()
                .map(String::from)
                .or_else(|| v.get("value").and_then(|x| x.as_str()).map(String::from))
        })
    };
    let mut out = String::new();
    let _ = writeln!(out, "pod:        {}", info.instance);
    let _ = writeln!(out, "type:       {} (index {})", info.task_type, info.index);
    let _ = writeln!(
        out,
        "task:       {}",
        or_dash(str_at(&info.task_info, "task_id").as_deref())
    );
    let _ = writeln!(
        out,
        "state:      {}",
        or_dash(str_at(&info.last_status, "state").as_deref())
    );
    if let Some(message) = str_at(&info.last_status, "message") {
        let _ = writeln!(out, "message:    {message}");
    }
    let _ = writeln!(
        out,
        "agent:      {} ({})",
        or_dash(info.agent_id.as_deref()),
        or_dash(info.hostname.as_deref())
    );
    let _ = writeln!(out, "config:     {}", or_dash(info.config_id.as_deref()));
    let _ = writeln!(out, "resources:");
    for r in &info.resources {
        let amount = match (r.scalar, r.ranges.is_empty()) {
            (Some(x), _) => format!("{x}"),
            (None, false) => r
                .ranges
                .iter()
                .map(|[a, b]| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
            (None, true) => "-".into(),
        };
        let _ = writeln!(
            out,
            "  {:<6} {:<10} role={} resource_id={}",
            r.name,
            amount,
            or_dash(r.role.as_deref()),
            or_dash(r.resource_id.as_deref())
        );
    }
    let _ = writeln!(out, "volumes:");
    for v in &info.volumes {
        let _ = writeln!(
            out,
            "  {} {} {} MiB persistence_id={}",
            v.container_path,
            v.kind,
            v.size_mb,
            or_dash(v.persistence_id.as_deref())
        );
    }
    out.trim_end().to_string()
}

/// `stead config list`: ids, the target marked with `*`.
pub fn config_list(ids: &[String], target: Option<&str>) -> String {
    ids.iter()
        .map(|id| {
            let mark = if Some(id.as_str()) == target {
                "*"
            } else {
                " "
            };
            format!("{mark} {id}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead::api::{OfferOutcome, OfferSummary, StepOffers};

    #[test]
    fn offers_view() {
        let debug = OffersDebug {
            offers: vec![OfferSummary {
                offer_id: "o-1".into(),
                agent_id: "a-1".into(),
                hostname: "agent-1.local".into(),
                resources: vec![
                    ResourceSummary {
                        name: "cpus".into(),
                        role: None,
                        scalar: Some(4.0),
                        ranges: vec![],
                        resource_id: None,
                    },
                    ResourceSummary {
                        name: "ports".into(),
                        role: Some("svc-role".into()),
                        scalar: None,
                        ranges: vec![[31000, 31009]],
                        resource_id: Some("r".into()),
                    },
                ],
            }],
            steps: vec![StepOffers {
                plan: "deploy".into(),
                step: "huge-0".into(),
                instance: "huge-0".into(),
                outcomes: vec![OfferOutcome {
                    offer_id: "o-1".into(),
                    used: false,
                    reason: "insufficient cpus: need 64, offered 4".into(),
                }],
            }],
        };
        let text = offers(&debug);
        assert!(text.starts_with("latest offers (1)\nOFFER"), "{text}");
        assert!(
            text.contains("o-1    agent-1.local  cpus 4, ports 31000-31009 (svc-role)"),
            "{text}"
        );
        assert!(text.contains("step huge-0 of plan deploy\n"), "{text}");
        assert!(
            text.contains("o-1    no    insufficient cpus: need 64, offered 4"),
            "{text}"
        );
        let empty = offers(&OffersDebug::default());
        assert!(empty.ends_with("no pending steps"), "{empty}");
    }

    #[test]
    fn tables_align() {
        let text = table(
            &["A", "LONGER"],
            &[
                vec!["xyz".into(), "1".into()],
                vec!["q".into(), "22".into()],
            ],
        );
        assert_eq!(text, "A    LONGER\nxyz  1\nq    22");
    }

    #[test]
    fn wide_pod_lists_show_readiness_restarts_and_age() {
        let pod = |instance: &str, ready, restarts, since| PodSummary {
            instance: instance.into(),
            task_type: "data".into(),
            index: 0,
            task_id: Some(format!("{instance}__1")),
            state: Some("TASK_RUNNING".into()),
            agent_id: Some("a-1".into()),
            hostname: Some("h".into()),
            ready,
            restarts,
            running_since_ms: since,
        };
        let pods = [
            pod("data-0", true, 2, Some(1_000)),
            pod("data-1", false, 0, None),
        ];
        let text = pod_list(&pods, Some(1_000 + 3 * 3_600_000 + 5_000));
        assert_eq!(
            text.lines().next().unwrap(),
            "POD     STATE         HOST  AGENT  TASK       READY  RESTARTS  AGE"
        );
        assert!(text.contains("data-0__1  yes    2         3h"), "{text}");
        assert!(text.contains("data-1__1  no     0         -"), "{text}");
        assert!(!pod_list(&pods, None).contains("READY"));
        assert_eq!(
            [0, 59_999, 60_000, 86_399_999, 86_400_000].map(age),
            ["0s", "59s", "1m", "23h", "1d"]
        );
    }

    #[test]
    fn config_list_marks_target() {
        let ids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(config_list(&ids, Some("b")), "  a\n* b");
    }
}
