use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "jobs")]
struct Job {
    #[factory(primary_key)]
    id: i64,
}

// A 1:1 extension table: its key is its job's key, so it cannot be NULL.
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "queued_jobs")]
struct QueuedJob {
    #[factory(primary_key, association = Job)]
    job_id: Option<i64>,
}

fn main() {
    let _ = QueuedJob::factory().job_id(1).build();
}
