//! A table whose primary key is also its foreign key (a 1:1 extension table): a queue row whose
//! key is its job's key, and tables that reference the queue row, by its key and by
//! `references = job_id`. Every way of making rows, on every backend, committed and read back
//! from a second connection.

mod common;

use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "jobs")]
struct Job {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("job-{n}"))]
    name: String,
}

/// The extension: its key is its job's key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "queued_jobs")]
struct QueuedJob {
    #[factory(primary_key, association = Job)]
    job_id: i64,
    #[factory(default = "default".to_string())]
    queue: String,
}

/// A child of the extension, by its key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "job_statuses")]
struct JobStatus {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = QueuedJob)]
    queued_job_id: i64,
    #[factory(default = "waiting".to_string())]
    state: String,
}

/// A child of the extension naming the key field with `references`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "job_events")]
struct JobEvent {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = QueuedJob, references = job_id)]
    job_id: i64,
}

/// The extension table again, as a get-or-create model keyed by its key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "queued_jobs", get_or_create(job_id))]
struct Claim {
    #[factory(primary_key, association = Job)]
    job_id: i64,
    #[factory(default = "claims".to_string())]
    queue: String,
}

fn schema_sql(kind: Kind) -> String {
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    format!(
        "CREATE TABLE jobs (id {pk}, name {text} NOT NULL);
         CREATE TABLE queued_jobs (job_id BIGINT PRIMARY KEY, queue {text} NOT NULL,
           FOREIGN KEY (job_id) REFERENCES jobs (id));
         CREATE TABLE job_statuses (id {pk}, queued_job_id BIGINT NOT NULL, state {text} NOT NULL,
           FOREIGN KEY (queued_job_id) REFERENCES queued_jobs (job_id));
         CREATE TABLE job_events (id {pk}, job_id BIGINT NOT NULL,
           FOREIGN KEY (job_id) REFERENCES queued_jobs (job_id))"
    )
}

/// The rows of each table, read from the second connection, and the check that every key
/// points at a stored row (SQLite does not enforce the foreign keys here).
macro_rules! assert_linked {
    ($observer:expr) => {{
        let jobs = read_back!($observer, Job, "SELECT * FROM jobs ORDER BY id");
        let queued = read_back!(
            $observer,
            QueuedJob,
            "SELECT * FROM queued_jobs ORDER BY job_id"
        );
        let statuses = read_back!(
            $observer,
            JobStatus,
            "SELECT * FROM job_statuses ORDER BY id"
        );
        let events = read_back!($observer, JobEvent, "SELECT * FROM job_events ORDER BY id");
        for q in &queued {
            assert!(
                jobs.iter().any(|j| j.id == q.job_id),
                "{q:?} has no job in {jobs:?}"
            );
        }
        for s in &statuses {
            assert!(
                queued.iter().any(|q| q.job_id == s.queued_job_id),
                "{s:?} has no queue row"
            );
        }
        for e in &events {
            assert!(
                queued.iter().any(|q| q.job_id == e.job_id),
                "{e:?} has no queue row"
            );
        }
        (jobs, queued, statuses, events)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create` makes the job first and stores its key as the queue row's key; a child of the
    /// queue row (by key, and by `references = job_id`) makes the job and the queue row.
    async fn create_makes_the_job_first(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let queued = bounded(QueuedJob::factory().with_session(&mut tx).create()).await.unwrap();
        let named = bounded(
            QueuedJob::factory()
                .with_session(&mut tx)
                .job_id_with(|j| j.name("nightly"))
                .queue("slow")
                .create(),
        )
        .await
        .unwrap();
        let status = bounded(JobStatus::factory().with_session(&mut tx).create()).await.unwrap();
        let event = bounded(JobEvent::factory().with_session(&mut tx).create()).await.unwrap();
        let on_named = bounded(
            JobStatus::factory().with_session(&mut tx).queued_job_id(named.job_id).create(),
        )
        .await
        .unwrap();
        bounded(tx.commit()).await.unwrap();

        let (jobs, stored_queue, statuses, events) = assert_linked!(observer);
        assert_eq!(jobs.len(), 4, "one job per queue row: {jobs:?}");
        assert_eq!(stored_queue.len(), 4, "{stored_queue:?}");
        assert!(stored_queue.contains(&queued), "{queued:?} in {stored_queue:?}");
        assert!(stored_queue.contains(&named));
        let nightly = jobs.iter().find(|j| j.name == "nightly").expect("the customised job");
        assert_eq!((named.job_id, named.queue.as_str()), (nightly.id, "slow"));
        assert_eq!(statuses, vec![status.clone(), on_named.clone()]);
        assert_eq!(on_named.queued_job_id, named.job_id);
        assert_eq!(events, vec![event.clone()]);
        // Each child made a queue row of its own, whose key is a job's.
        assert!(![queued.job_id, named.job_id].contains(&status.queued_job_id));
        assert!(![queued.job_id, named.job_id, status.queued_job_id].contains(&event.job_id));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create_batch` makes one job per queue row, and one queue row per child.
    async fn create_batch_makes_one_parent_per_row(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let queued = bounded(QueuedJob::factory().with_session(&mut tx).create_batch(3)).await.unwrap();
        let statuses = bounded(JobStatus::factory().with_session(&mut tx).create_batch(4)).await.unwrap();
        let events = bounded(JobEvent::factory().with_session(&mut tx).create_batch(2)).await.unwrap();
        bounded(tx.commit()).await.unwrap();

        let (jobs, stored_queue, stored_statuses, stored_events) = assert_linked!(observer);
        assert_eq!((jobs.len(), stored_queue.len()), (9, 9));
        assert_eq!(stored_statuses, statuses);
        assert_eq!(stored_events, events);
        let mut keys: Vec<i64> = statuses.iter().map(|s| s.queued_job_id).collect();
        keys.extend(events.iter().map(|e| e.job_id));
        keys.extend(queued.iter().map(|q| q.job_id));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 9, "every queue row is a child's own: {keys:?}");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Seeding: queue rows as the children of seeded jobs, over listed job keys (their keys
    /// returned), and as the parents of seeded statuses (their keys read from the table).
    async fn insert_many_spreads_over_the_keys(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let seeded = bounded(
            Job::factory()
                .with_session(&mut tx)
                .insert_many(5)
                .with_children(1, QueuedJob::factory().queue("seeded")),
        )
        .await
        .unwrap();
        assert_eq!(seeded, 5);
        let job_ids: Vec<i64> = bounded(
            Job::factory().with_session(&mut tx).insert_many(3).returning_keys(),
        )
        .await
        .unwrap();
        let queue_keys: Vec<i64> = bounded(
            QueuedJob::factory()
                .with_session(&mut tx)
                .insert_many(3)
                .parents_from::<Job>(job_ids.clone())
                .returning_keys(),
        )
        .await
        .unwrap();
        assert_eq!(queue_keys, job_ids, "a queue row's key is its job's");
        bounded(
            JobStatus::factory()
                .with_session(&mut tx)
                .insert_many(16)
                .parents_from_table::<QueuedJob>(),
        )
        .await
        .unwrap();
        bounded(tx.commit()).await.unwrap();

        let (jobs, queued, statuses, _) = assert_linked!(observer);
        assert_eq!((jobs.len(), queued.len(), statuses.len()), (8, 8, 16));
        assert_eq!(queued.iter().filter(|q| q.queue == "seeded").count(), 5);
        // Spread over all eight queue rows, two statuses each.
        for q in &queued {
            let n = statuses.iter().filter(|s| s.queued_job_id == q.job_id).count();
            assert_eq!(n, 2, "statuses of {q:?}");
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `get_or_create` keyed by the key that is both: the row of a job is found the second
    /// time; without a key, a job is made and the row inserted.
    async fn get_or_create_finds_the_row_of_a_job(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let job = bounded(Job::factory().with_session(&mut tx).create()).await.unwrap();
        let (first, created) =
            bounded(Claim::factory().with_session(&mut tx).job_id(job.id).get_or_create())
                .await
                .unwrap();
        assert!(created);
        let (again, created) = bounded(
            Claim::factory().with_session(&mut tx).job_id(job.id).queue("other").get_or_create(),
        )
        .await
        .unwrap();
        assert!(!created, "the row of job {} exists", job.id);
        assert_eq!(again, first, "returned as stored, not with the queue asked for");
        let (fresh, created) =
            bounded(Claim::factory().with_session(&mut tx).get_or_create()).await.unwrap();
        assert!(created);
        assert_ne!(fresh.job_id, job.id);
        bounded(tx.commit()).await.unwrap();

        let (jobs, queued, _, _) = assert_linked!(observer);
        assert_eq!(jobs.len(), 2);
        let claims: Vec<(i64, &str)> = queued.iter().map(|q| (q.job_id, q.queue.as_str())).collect();
        assert_eq!(claims, vec![(job.id, "claims"), (fresh.job_id, "claims")]);
    }
}

/// `build()` stores nothing: the key that is both reads as a stub, as a `primary_key` does.
#[test]
fn build_gives_the_key_a_stub() {
    let built = QueuedJob::factory().seed(3).build_batch(2);
    let keys: Vec<i64> = built.iter().map(|q| q.job_id).collect();
    assert_eq!(keys, vec![1001, 1002]);
    assert_eq!(QueuedJob::factory().job_id(7).build().job_id, 7);
    let status = JobStatus::factory().seed(3).build();
    assert_eq!(status.id, 1001);
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check finds nothing to say about the shape: the key that is both is filled
    /// by its association, and each foreign key points at the parent's table.
    async fn check_finds_the_shape_clean(mk, _observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let report =
            bounded(sqlx_factory::check!(&mut *conn, Job, QueuedJob, JobStatus, JobEvent, Claim))
                .await;
        if let Err(report) = report.deny_warnings().into_result() {
            panic!("{report}");
        }
    }
}
