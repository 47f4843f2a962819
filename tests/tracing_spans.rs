//! With the `tracing` feature, each insert step runs in a span naming factory, table,
//! operation and row count.

#[cfg(feature = "tracing")]
mod spans {
    use std::sync::Mutex;

    use sqlx::Connection;
    use sqlx_factory::Factory;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Debug, Clone, sqlx::FromRow, Factory)]
    #[factory(table = "traced")]
    struct Traced {
        #[factory(primary_key)]
        id: i64,
        name: String,
    }

    static SPANS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Spans;

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={:?}", field.name(), value));
        }
    }

    impl Subscriber for Spans {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.name().starts_with("sqlx_factory")
                || metadata.target().starts_with("sqlx_factory::seed")
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut fields = Fields(span.metadata().name().to_string());
            span.record(&mut fields);
            SPANS.lock().unwrap().push(fields.0);
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(event.metadata().target().to_string());
            event.record(&mut fields);
            SPANS.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[tokio::test]
    async fn create_and_batch_are_traced() {
        tracing::subscriber::set_global_default(Spans).unwrap();
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE traced (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        Traced::factory()
            .with_session(&mut conn)
            .create()
            .await
            .unwrap();
        Traced::factory()
            .with_session(&mut conn)
            .create_batch(7)
            .await
            .unwrap();
        // Drawn chunk by chunk as it is sent: still one span for the batch.
        Traced::factory()
            .with_session(&mut conn)
            .create_batch(1_200)
            .await
            .unwrap();
        // A seed: one event per chunk sent.
        Traced::factory()
            .with_session(&mut conn)
            .insert_many(1_000)
            .chunk_rows(400)
            .await
            .unwrap();
        let spans = SPANS.lock().unwrap().clone();
        assert_eq!(
            spans,
            [
                r#"sqlx_factory::insert factory="TracedFactory" table="traced" operation=create rows=1"#,
                r#"sqlx_factory::insert factory="TracedFactory" table="traced" operation=create_batch(7) rows=7"#,
                r#"sqlx_factory::insert factory="TracedFactory" table="traced" operation=create_batch(1200) rows=1200"#,
                r#"sqlx_factory::seed message=chunk sent factory="TracedFactory" table="traced" rows=400 total=1000"#,
                r#"sqlx_factory::seed message=chunk sent factory="TracedFactory" table="traced" rows=800 total=1000"#,
                r#"sqlx_factory::seed message=chunk sent factory="TracedFactory" table="traced" rows=1000 total=1000"#,
            ]
        );
    }
}
