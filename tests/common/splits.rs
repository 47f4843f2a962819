//! A parent with a two-column key and a child that stores both columns, shared by
//! tests/references.rs (create) and tests/seed_shapes.rs (seeding). Tables `splits` and
//! `split_tags`; each test file creates them in its own schema.

use sqlx_factory::Factory;

/// A parent with a two-column key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "splits")]
pub struct Split {
    #[factory(primary_key, sequence = |n| format!("index-{}", n % 3))]
    pub index_uid: String,
    #[factory(primary_key, sequence = |n| format!("split-{n}"))]
    pub split_id: String,
    #[factory(default = 10)]
    pub num_docs: i64,
}

/// Both key fields come from one parent row per child.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(
    table = "split_tags",
    association(Split, fields(split_index, split), references(index_uid, split_id))
)]
pub struct SplitTag {
    #[factory(primary_key)]
    pub id: i64,
    pub split_index: String,
    pub split: String,
    #[factory(default = "hot".to_string())]
    pub tag: String,
}
