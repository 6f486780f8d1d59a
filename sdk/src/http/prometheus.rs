//! The Prometheus text exposition format (version 0.0.4) for `GET /v1/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::api::{Histogram, MetricsSnapshot};
use crate::plan::PlanSnapshot;

/// The Content-Type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the scheduler's metrics and its plans' statuses.
pub fn render(metrics: &MetricsSnapshot, plans: &[PlanSnapshot]) -> String {
    let mut out = Text::default();
    out.counter(
        "stead_offers_received_total",
        "Offers received from the master.",
        metrics.offers_received,
    );
    out.counter(
        "stead_offers_declined_total",
        "Offers declined.",
        metrics.offers_declined,
    );
    out.counter(
        "stead_offers_used_total",
        "Offers accepted with at least one operation.",
        metrics.offers_used,
    );
    out.family(
        "stead_operations_total",
        "counter",
        "Offer operations sent, by type.",
        metrics
            .operations
            .iter()
            .map(|(t, n)| (vec![("type", t.as_str())], *n as f64)),
    );
    out.family(
        "stead_tasks",
        "gauge",
        "Tasks by their last known Mesos state.",
        metrics
            .tasks
            .iter()
            .map(|(s, n)| (vec![("state", s.as_str())], *n as f64)),
    );
    let plan_rows: Vec<(String, String)> = plans
        .iter()
        .map(|p| (p.name.clone(), p.status.to_string()))
        .collect();
    out.family(
        "stead_plan_status",
        "gauge",
        "1 for each plan's current status.",
        plan_rows
            .iter()
            .map(|(p, s)| (vec![("plan", p.as_str()), ("status", s.as_str())], 1.0)),
    );
    let mut steps: BTreeMap<(String, String), u64> = BTreeMap::new();
    for plan in plans {
        for step in plan.phases.iter().flat_map(|p| p.steps.iter()) {
            *steps
                .entry((plan.name.clone(), step.status.to_string()))
                .or_default() += 1;
        }
    }
    out.family(
        "stead_plan_steps",
        "gauge",
        "Steps per plan and status.",
        steps.iter().map(|((p, s), n)| {
            (
                vec![("plan", p.as_str()), ("status", s.as_str())],
                *n as f64,
            )
        }),
    );
    out.histogram(
        "stead_state_store_write_seconds",
        "State store write latency.",
        &metrics.state_store_write_seconds,
    );
    out.0
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.header(name, "counter", help);
        self.sample(name, &[], value as f64);
    }

    fn family<'a>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        rows: impl Iterator<Item = (Vec<(&'a str, &'a str)>, f64)>,
    ) {
        self.header(name, kind, help);
        for (labels, value) in rows {
            self.sample(name, &labels, value);
        }
    }

    fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.header(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (bound, n) in h.bounds.iter().zip(&h.cumulative) {
            let le = number(*bound);
            self.sample(&bucket, &[("le", &le)], *n as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], h.count as f64);
        self.sample(&format!("{name}_sum"), &[], h.sum);
        self.sample(&format!("{name}_count"), &[], h.count as f64);
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Formats a sample value the way Prometheus parses it.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut m = MetricsSnapshot {
            state_store_write_seconds: Histogram::new(&[0.001, 0.01]),
            ..Default::default()
        };
        m.state_store_write_seconds
            .observe(std::time::Duration::from_micros(500));
        m.state_store_write_seconds
            .observe(std::time::Duration::from_millis(5));
        m.state_store_write_seconds
            .observe(std::time::Duration::from_secs(1));
        let text = render(&m, &[]);
        assert!(text.contains("stead_state_store_write_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("stead_state_store_write_seconds_bucket{le=\"0.01\"} 2\n"));
        assert!(text.contains("stead_state_store_write_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("stead_state_store_write_seconds_count 3\n"));
        assert!(text.contains("# TYPE stead_state_store_write_seconds histogram\n"));
    }
}
