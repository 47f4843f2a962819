//! A `tracing` subscriber that records what tests/tracing_spans.rs and
//! tests/create_fast_path.rs check: each `sqlx_factory` span and event as one line of its name
//! (or target) and fields, and how often spans were entered and exited. Installed as the
//! thread's default (`tracing::subscriber::set_default`), so the other tests of a binary run
//! with none.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Debug, Default)]
pub struct Seen {
    /// `<span name> field=value ..` per span made, `<event target> field=value ..` per event.
    pub lines: Vec<String>,
    pub enters: usize,
    pub exits: usize,
}

#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Seen>>);

impl Recorder {
    /// What was recorded so far.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap()
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.name().starts_with("sqlx_factory") || metadata.target().starts_with("sqlx_factory")
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(span.metadata().name().to_string());
        span.record(&mut fields);
        let mut seen = self.seen();
        seen.lines.push(fields.0);
        Id::from_u64(seen.lines.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(event.metadata().target().to_string());
        event.record(&mut fields);
        self.seen().lines.push(fields.0);
    }
    fn enter(&self, _: &Id) {
        self.seen().enters += 1;
    }
    fn exit(&self, _: &Id) {
        self.seen().exits += 1;
    }
}
