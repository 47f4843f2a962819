// Field names that look like the generated code's own locals and parameters, raw identifiers,
// a required raw-named field, and an optional self-reference written as `Self` (also on a model
// whose own name is raw).
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "jobs")]
struct Job {
    #[factory(primary_key)]
    id: i64,
    args: String,
    set: i32,
    draw: i32,
    rng: i32,
    n: i64,
    conn: String,
    #[factory(required)]
    r#type: String,
    #[factory(association = Self)]
    parent_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "matches")]
struct r#Match {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Self)]
    parent_id: Option<i64>,
}

fn main() {
    let tree = r#Match::factory().parent_id_with(|p| p.id(7)).build();
    assert!(tree.parent_id.is_some(), "{tree:?}");
    let job = Job::factory().r#type("cron").args("--all").set(3).build();
    assert_eq!((job.r#type.as_str(), job.args.as_str(), job.set, job.parent_id), ("cron", "--all", 3, None));
    let with_parent = Job::factory().r#type("x").parent_id_with(|p| p.r#type("root")).build();
    assert!(with_parent.parent_id.is_some());
    assert!(format!("{:?}", Job::factory().args("a")).contains("args: \"a\""));
}
