//! `stead plan watch` (and `stead pod restart|replace --watch`): live progress of a plan
//! until it completes or fails.
//!
//! On a terminal every phase gets a progress bar with its steps' statuses; otherwise
//! (pipes, logs) a line is printed whenever a step's status changes; with `--json`, only
//! the final plan is printed, as JSON.
//!
//! A watch of the work a command started waits for the plan generation the command
//! answered with: an older snapshot is not that work, whatever its status. A plan rebuilt
//! since (a new plan id: the scheduler restarted, and rebuilt its plans from the state
//! that holds the command) counts as that generation.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use super::{CliError, Client, fetch_plan, render};
use stead::plan::{PhaseSnapshot, PlanSnapshot, Status};

/// How long the scheduler may be unreachable (e.g. while it restarts) before giving up.
const UNREACHABLE_GRACE: Duration = Duration::from_secs(30);

/// The time between polls unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// A watch of one plan.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The plan's name.
    pub plan: String,
    /// The time between polls.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Option<Duration>,
    /// The generation to wait for, and the id of the plan that generation counts in
    /// (when known).
    pub generation: Option<(u64, Option<Uuid>)>,
    /// Print only the final plan, as JSON.
    pub json: bool,
}

impl Watch {
    /// Whether `snapshot` shows the generation waited for.
    fn reached(&self, snapshot: &PlanSnapshot) -> bool {
        match self.generation {
            None => true,
            Some((generation, id)) => {
                snapshot.generation >= generation || id.is_some_and(|id| id != snapshot.id)
            }
        }
    }

    /// Polls the plan until it completes (Ok) or fails.
    pub async fn run(mut self, client: &Client) -> Result<(), CliError> {
        let plan = self.plan.clone();
        let started = Instant::now();
        let mut view: Box<dyn View> = if self.json {
            Box::new(Json)
        } else if std::io::stdout().is_terminal() {
            Box::new(Bars::default())
        } else {
            Box::new(Lines::default())
        };
        let mut unreachable_since: Option<Instant> = None;
        let mut last_status = String::from("unknown");
        loop {
            match fetch_plan(client, &plan).await {
                Ok(snapshot) if !self.reached(&snapshot) => {
                    unreachable_since = None;
                    if let Some((_, id @ None)) = &mut self.generation {
                        // The plan the generation counts in is the first one seen.
                        *id = Some(snapshot.id);
                    }
                }
                Ok(snapshot) => {
                    unreachable_since = None;
                    last_status = snapshot.status.to_string();
                    view.update(&snapshot)?;
                    let errors = stead::api::plan_errors(&snapshot);
                    if snapshot.status == Status::Error || !errors.is_empty() {
                        view.finish(&snapshot)?;
                        let detail = if errors.is_empty() {
                            snapshot.status.to_string()
                        } else {
                            format!("{}: {}", snapshot.status, errors.join("; "))
                        };
                        return Err(CliError::PlanFailed {
                            plan: plan.clone(),
                            detail,
                        });
                    }
                    if snapshot.status.is_complete() {
                        return view.finish(&snapshot);
                    }
                }
                Err(e @ CliError::Unreachable { .. }) => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > UNREACHABLE_GRACE {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
            if let Some(limit) = self.timeout
                && started.elapsed() >= limit
            {
                return Err(CliError::WatchTimeout {
                    plan: plan.clone(),
                    seconds: limit.as_secs(),
                    status: last_status,
                });
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

/// A way of showing progress.
trait View {
    /// Shows a new snapshot.
    fn update(&mut self, plan: &PlanSnapshot) -> Result<(), CliError>;
    /// Shows the final snapshot.
    fn finish(&mut self, plan: &PlanSnapshot) -> Result<(), CliError>;
}

/// Complete steps and all steps of a phase.
fn progress(phase: &PhaseSnapshot) -> (u64, u64) {
    let done = phase
        .steps
        .iter()
        .filter(|s| s.status.is_complete())
        .count();
    (done as u64, phase.steps.len() as u64)
}

/// Nothing while the plan runs; the final plan as JSON.
struct Json;

impl View for Json {
    fn update(&mut self, _plan: &PlanSnapshot) -> Result<(), CliError> {
        Ok(())
    }

    fn finish(&mut self, plan: &PlanSnapshot) -> Result<(), CliError> {
        super::print_json(plan)
    }
}

/// One line per step status change.
#[derive(Default)]
struct Lines {
    seen: HashMap<Uuid, (Status, String)>,
    plan_status: Option<Status>,
}

impl View for Lines {
    fn update(&mut self, plan: &PlanSnapshot) -> Result<(), CliError> {
        if self.plan_status != Some(plan.status) {
            self.plan_status = Some(plan.status);
            render::emit(&format!("plan {} {}", plan.name, plan.status))?;
        }
        for phase in &plan.phases {
            let (done, total) = progress(phase);
            for step in &phase.steps {
                let now = (step.status, step.message.clone());
                if self.seen.get(&step.id) != Some(&now) {
                    let line = format!(
                        "{}/{} {} [{done}/{total}] {}",
                        phase.name, step.name, step.status, step.message
                    );
                    render::emit(line.trim_end())?;
                    self.seen.insert(step.id, now);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, plan: &PlanSnapshot) -> Result<(), CliError> {
        render::emit(&render::plan(plan))
    }
}

/// A progress bar per phase.
#[derive(Default)]
struct Bars {
    multi: Option<MultiProgress>,
    bars: Vec<(Uuid, ProgressBar)>,
}

impl Bars {
    fn style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:>16} [{bar:30.green/white}] {pos}/{len} {msg}")
            // Invariant: the template above is a valid, constant indicatif template.
            .expect("valid progress template")
            .progress_chars("=> ")
    }
}

impl View for Bars {
    fn update(&mut self, plan: &PlanSnapshot) -> Result<(), CliError> {
        let layout: Vec<Uuid> = plan.phases.iter().map(|p| p.id).collect();
        if self
            .bars
            .iter()
            .map(|(id, _)| *id)
            .ne(layout.iter().copied())
        {
            if let Some(multi) = &self.multi {
                let _ = multi.clear();
            }
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            self.bars = plan
                .phases
                .iter()
                .map(|phase| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(Bars::style());
                    bar.set_prefix(phase.name.clone());
                    (phase.id, bar)
                })
                .collect();
            self.multi = Some(multi);
        }
        for (phase, (_, bar)) in plan.phases.iter().zip(&self.bars) {
            let (done, total) = progress(phase);
            bar.set_length(total);
            bar.set_position(done);
            let steps: Vec<String> = phase
                .steps
                .iter()
                .map(|s| format!("{}:{}", s.name, s.status))
                .collect();
            bar.set_message(format!("{} {}", phase.status, steps.join(" ")));
        }
        Ok(())
    }

    fn finish(&mut self, plan: &PlanSnapshot) -> Result<(), CliError> {
        self.update(plan)?;
        for (_, bar) in &self.bars {
            bar.abandon();
        }
        render::emit(&format!("plan {} {}", plan.name, plan.status))
    }
}
