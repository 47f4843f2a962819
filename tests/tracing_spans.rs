//! With the `tracing` feature, each insert step runs in a span naming factory, table,
//! operation and row count.

#[cfg(feature = "tracing")]
mod common;

#[cfg(feature = "tracing")]
#[path = "common/spans.rs"]
mod recorder;

#[cfg(feature = "tracing")]
mod spans {
    use sqlx::Connection;
    use sqlx_factory::Factory;

    use super::recorder::Recorder;

    #[derive(Debug, Clone, sqlx::FromRow, Factory)]
    #[factory(table = "traced")]
    struct Traced {
        #[factory(primary_key)]
        id: i64,
        name: String,
    }

    const TRACED: &str = "CREATE TABLE traced (id INTEGER PRIMARY KEY, name TEXT NOT NULL)";

    /// The schema check on the table the test creates: no error for a model whose creates
    /// succeed there.
    #[tokio::test]
    async fn check_every_model() {
        let mut conn = crate::common::sqlite().await;
        sqlx::raw_sql(TRACED).execute(&mut conn).await.unwrap();
        crate::check_clean!(&mut conn, crate::common::Kind::Sqlite, Traced);
    }

    #[tokio::test]
    async fn create_and_batch_are_traced() {
        let recorder = Recorder::default();
        let _guard = tracing::subscriber::set_default(recorder.clone());
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql(TRACED).execute(&mut conn).await.unwrap();
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
        let spans = recorder.seen().lines.clone();
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
