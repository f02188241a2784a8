//! Drawing a stack operation's progress: on a terminal, an overall bar and a spinner line
//! per resource in progress (indicatif); otherwise, or with --quiet, one plain line per
//! event, so logs and CI output stay readable. Fetching events is not done here.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cloud::events::ResourceEvent;

pub struct Progress {
    bars: Option<Bars>,
    quiet: bool,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    resources: HashMap<String, ProgressBar>,
}

impl Progress {
    /// `total` is how many resources the operation touches.
    pub fn new(title: &str, total: usize, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            if !quiet {
                errln!("{title}");
            }
            return Progress { bars: None, quiet };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} resources, {elapsed}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        overall.set_message(title.to_string());
        overall.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bars: Some(Bars {
                multi,
                overall,
                resources: HashMap::new(),
            }),
            quiet,
        }
    }

    /// Show one event: start, update or finish the resource's line.
    pub fn event(&mut self, event: &ResourceEvent) {
        let reason = event
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let Some(bars) = &mut self.bars else {
            if !self.quiet || event.failed() {
                errln!(
                    "  {:<28} {:<34} {:<28}{reason}",
                    event.status,
                    event.logical_id,
                    event.resource_type
                );
            }
            return;
        };
        if event.is_stack() {
            return;
        }
        let line = format!("{:<34} {:<28}", event.logical_id, event.resource_type);
        if event.in_progress() {
            let bar = bars
                .resources
                .entry(event.logical_id.clone())
                .or_insert_with(|| {
                    let bar = bars.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                            .expect("the template is valid"),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
            bar.set_message(format!("{line} {}", event.status.to_lowercase()));
            return;
        }
        if let Some(bar) = bars.resources.remove(&event.logical_id) {
            bar.finish_and_clear();
            bars.multi.remove(&bar);
        }
        let mark = if event.failed() { "✗" } else { "✓" };
        let _ = bars.multi.println(format!(
            "  {mark} {line} {}{reason}",
            event.status.to_lowercase()
        ));
        if !event.failed() {
            bars.overall.inc(1);
        }
    }

    pub fn finish(self) {
        if let Some(bars) = self.bars {
            for bar in bars.resources.values() {
                bar.finish_and_clear();
            }
            bars.overall.finish_and_clear();
        }
    }
}
