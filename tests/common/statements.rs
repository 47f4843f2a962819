//! Counts the statements sqlx really sends, from the `sqlx::query` events it emits for each.
//! Other tests of the binary run at the same time: count only INSERTs into tables that no test
//! writes to outside a counting section (sections take turns), per backend.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::Kind;

static STATEMENTS: Mutex<Vec<Logged>> = Mutex::new(Vec::new());
/// Tests that count statements take turns, so each sees only its own.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone)]
pub struct Logged {
    pub sql: String,
    pub rows_returned: u64,
}

struct Recorder;

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    rows_returned: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.trim().to_owned(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows_returned = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let sql = if fields.statement.is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        STATEMENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Logged {
                sql,
                rows_returned: fields.rows_returned,
            });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// While alive, records every statement sent, by any connection of this test binary.
pub struct Counting {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    start: usize,
}

pub async fn start() -> Counting {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Recorder).expect("no other global subscriber");
    });
    let turn = TURN.lock().await;
    let start = log().len();
    Counting { _turn: turn, start }
}

fn log() -> MutexGuard<'static, Vec<Logged>> {
    STATEMENTS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Counting {
    /// The INSERTs into `tables` sent since `start` to `kind`'s backend, in order. Tests of one
    /// binary run at once: count only tables no test outside a counting section writes to.
    pub fn inserts_into(&self, kind: Kind, tables: &[&str]) -> Vec<Logged> {
        let quote = if kind == Kind::MariaDb { '`' } else { '"' };
        let prefixes: Vec<String> = tables
            .iter()
            .map(|t| format!("INSERT INTO {quote}{t}{quote}"))
            .collect();
        log()[self.start..]
            .iter()
            .filter(|s| {
                backend_of(&s.sql) == kind && prefixes.iter().any(|p| s.sql.starts_with(p.as_str()))
            })
            .cloned()
            .collect()
    }
}

/// Which backend a statement was written for: MariaDB quotes with backticks, PostgreSQL
/// numbers its placeholders. Statements with neither are taken as SQLite's.
fn backend_of(sql: &str) -> Kind {
    if sql.contains('`') {
        Kind::MariaDb
    } else if sql.contains("$1") {
        Kind::Postgres
    } else {
        Kind::Sqlite
    }
}
