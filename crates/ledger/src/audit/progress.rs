//! Progress of the audit tools on stderr: a bar with events/s and ETA on a terminal, plain
//! lines (at most one a second) when stderr is a file or a pipe, so logs stay readable.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    /// What is counted ("events", "commands").
    unit: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total` 0 means unknown (no ETA).
    pub fn new(what: &'static str, total: u64) -> Self {
        Self::counting(what, total, "events")
    }

    /// A progress that counts `unit`s.
    pub fn counting(what: &'static str, total: u64, unit: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = if total > 0 {
                ProgressBar::new(total)
            } else {
                ProgressBar::new_spinner()
            };
            let template = if total > 0 {
                format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{per_sec}}, ETA {{eta}}")
            } else {
                format!("{{msg}} {{spinner}} {{pos}} {unit}, {{per_sec}}")
            };
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what);
            bar
        });
        Progress {
            what,
            unit,
            total,
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            bar,
        }
    }

    pub fn inc(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if self.last_line.elapsed() >= Duration::from_secs(1) => {
                self.last_line = Instant::now();
                self.line();
            }
            None => {}
        }
    }

    fn line(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        if self.total > 0 {
            let eta = (self.total.saturating_sub(self.done)) as f64 / rate.max(1e-9);
            eprintln!(
                "{}: {}/{} {unit}, {rate:.0} {unit}/s, ETA {eta:.0}s",
                self.what,
                self.done,
                self.total,
                unit = self.unit
            );
        } else {
            eprintln!(
                "{}: {} {unit}, {rate:.0} {unit}/s",
                self.what,
                self.done,
                unit = self.unit
            );
        }
    }

    pub fn finish(&mut self) {
        match self.bar.take() {
            Some(bar) => bar.finish(),
            None => self.line(),
        }
    }
}
