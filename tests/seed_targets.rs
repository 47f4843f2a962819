//! `insert_many` into the tables real schemas have: rows that bring their own key, a trigger
//! that assigns the key, an updatable view, columns whose type is not the one sqlx binds by
//! default (`json`, `varchar(n)[]`), and an empty list of parents. The keys handed on are
//! the stored rows' keys, and what is stored is what was drawn.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "owners")]
struct Owner {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("owner{n}"))]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pets")]
struct Pet {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Owner)]
    owner_id: i64,
    #[factory(sequence = |n| format!("pet{n}"))]
    name: String,
}

/// `owners` with a key the rows bring themselves (a `sequence`), on a `BIGSERIAL` column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "owners")]
struct NumberedOwner {
    #[factory(primary_key, sequence = |n| 1_000_000 + n as i64)]
    id: i64,
    #[factory(sequence = |n| format!("numbered{n}"))]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pets")]
struct NumberedPet {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = NumberedOwner)]
    owner_id: i64,
    #[factory(sequence = |n| format!("pet{n}"))]
    name: String,
}

async fn owners_and_pets<C>(conn: &mut C, kind: common::Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE owners (id {pk}, name TEXT NOT NULL);
             CREATE TABLE pets (id {pk}, owner_id BIGINT NOT NULL REFERENCES owners (id),
               name TEXT NOT NULL)",
            pk = kind.serial_pk()
        )
    );
}

/// `returning_keys()` of `$keys` rows of `$parent`, which must be the stored rows' keys; then
/// `$parents` more with two `$child`ren each. Returns (children, children pointing nowhere).
macro_rules! keys_then_children {
    ($tx:ident, $parent:ident, $keys:expr, $child:ident, $parents:expr) => {{
        let mut keys: Vec<i64> = $parent::factory()
            .with_session(&mut $tx)
            .insert_many($keys)
            .returning_keys()
            .await
            .unwrap();
        keys.sort_unstable();
        let stored: Vec<i64> = sqlx::query_scalar("SELECT id FROM owners ORDER BY id")
            .fetch_all(&mut *$tx)
            .await
            .unwrap();
        assert_eq!(keys, stored, "the keys handed on are the stored rows' keys");
        $parent::factory()
            .with_session(&mut $tx)
            .insert_many($parents)
            .with_children(2, $child::factory())
            .await
            .unwrap();
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) - COUNT(o.id) FROM pets p LEFT JOIN owners o ON o.id = p.owner_id",
        )
        .fetch_one(&mut *$tx)
        .await
        .unwrap();
        counts
    }};
}

on_every_backend! {
    /// Rows that bring their own key: `returning_keys()` hands on exactly their keys, and
    /// `with_children(2, ..)` makes two children for each, all pointing at stored owners.
    async fn rows_with_their_own_keys(conn, kind) {
        owners_and_pets(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let (pets, orphans) = keys_then_children!(tx, NumberedOwner, 3, NumberedPet, 3);
        assert_eq!((pets, orphans), (6, 0), "two children per owner, none pointing nowhere");
        tx.rollback().await.unwrap();
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    /// A `BEFORE INSERT` trigger that assigns the key: the keys handed on are those stored.
    #[tokio::test]
    async fn postgres_trigger_assigns_the_key() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_trigger_assigns_the_key").await;
            owners_and_pets(&mut conn, common::Kind::Postgres).await;
            exec!(
                &mut conn,
                "CREATE SEQUENCE owner_numbers START 500000;
                 CREATE FUNCTION number_owner() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN NEW.id := nextval('owner_numbers'); RETURN NEW; END $$;
                 CREATE TRIGGER number_owner BEFORE INSERT ON owners
                   FOR EACH ROW EXECUTE FUNCTION number_owner()"
            );
            check_clean!(&mut conn, common::Kind::Postgres, Owner, Pet);
            let mut tx = conn.begin().await.unwrap();
            let (pets, orphans) = keys_then_children!(tx, Owner, 50, Pet, 5);
            assert_eq!(
                (pets, orphans),
                (10, 0),
                "two children per owner, none pointing nowhere"
            );
            tx.rollback().await.unwrap();
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "owner_view")]
    struct ViewedOwner {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| format!("viewed{n}"))]
        name: String,
    }

    /// An auto-updatable view takes a seed, as it takes `create()`.
    #[tokio::test]
    async fn postgres_seed_into_a_view() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_into_a_view").await;
            owners_and_pets(&mut conn, common::Kind::Postgres).await;
            exec!(
                &mut conn,
                "CREATE VIEW owner_view AS SELECT id, name FROM owners"
            );
            check_clean!(&mut conn, common::Kind::Postgres, ViewedOwner);
            let mut tx = conn.begin().await.unwrap();
            ViewedOwner::factory()
                .with_session(&mut tx)
                .create()
                .await
                .unwrap();
            let seeded = ViewedOwner::factory()
                .with_session(&mut tx)
                .insert_many(300)
                .await
                .unwrap();
            assert_eq!(seeded, 300);
            let keys = ViewedOwner::factory()
                .with_session(&mut tx)
                .insert_many(20)
                .returning_keys()
                .await
                .unwrap();
            assert_eq!(keys.len(), 20);
            let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM owners")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(stored, 321);
            tx.rollback().await.unwrap();
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "documents")]
    struct Document {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| sqlx::types::JsonValue::from(vec![format!("doc {n}")]))]
        body: sqlx::types::JsonValue,
        #[factory(default = vec!["a".to_string(), "bc".to_string()])]
        tags: Vec<String>,
        #[factory(default = Some(vec!["x".to_string()]))]
        labels: Option<Vec<String>>,
    }

    /// A `json` column (sqlx binds `jsonb`) and `varchar(n)[]` columns (sqlx binds `text[]`):
    /// what `create_batch` stores, `insert_many` stores too, equal to what was drawn.
    #[tokio::test]
    async fn postgres_seed_json_and_varchar_arrays() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_json_and_varchar_arrays").await;
            exec!(
                &mut conn,
                "CREATE TABLE documents (id BIGSERIAL PRIMARY KEY, body json NOT NULL,
                   tags varchar(8)[] NOT NULL, labels character varying(4)[])"
            );
            check_clean!(&mut conn, common::Kind::Postgres, Document);
            let mut tx = conn.begin().await.unwrap();
            let created = Document::factory()
                .with_session(&mut tx)
                .create_batch(50)
                .await
                .unwrap();
            assert_eq!(created.len(), 50);
            let seeded = Document::factory()
                .with_session(&mut tx)
                .seed(9)
                .insert_many(50)
                .await
                .unwrap();
            assert_eq!(seeded, 50);
            let drawn = Document::factory().seed(9).build_batch(50);
            let stored: Vec<Document> =
                sqlx::query_as("SELECT * FROM documents WHERE id > $1 ORDER BY id")
                    .bind(created.iter().map(|d| d.id).max().unwrap())
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            let values = |d: &Document| (d.body.clone(), d.tags.clone(), d.labels.clone());
            assert_eq!(
                stored.iter().map(values).collect::<Vec<_>>(),
                drawn.iter().map(values).collect::<Vec<_>>()
            );
            tx.rollback().await.unwrap();
        })
        .await
    }
}

on_every_backend! {
    /// `parents_from` with no values: the error says the list is empty.
    async fn parents_from_no_keys(conn, kind) {
        owners_and_pets(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let error = Pet::factory()
            .with_session(&mut tx)
            .insert_many(10)
            .parents_from::<Owner>(Vec::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("parents_from::<Owner>") && error.contains("no values"),
            "{error}"
        );
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        owners_and_pets(conn, kind).await;
        check_clean!(&mut *conn, kind, Owner, Pet, NumberedOwner, NumberedPet);
    }
}
