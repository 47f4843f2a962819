//! Seeds of models with several associations to one parent type, in the shapes users write:
//! three associations to one parent, one of them nullable, lists of one, two and three values
//! over a row count no multiple of them and several chunks, composite keys, a model that points
//! at itself, a second parent type left unseeded, an empty parent table, `with_children` into a
//! child with a second parent type, and `returning_keys()`. The seeds run through a pool, so
//! they commit; a second connection then JOINs every row to its parents on each field.

mod common;

use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_users")]
struct AtkUser {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("atk{n}@example.com"))]
    email: String,
}

/// Three foreign keys to the users' ids, the last nullable.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_reviews")]
struct Review {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = AtkUser)]
    author_id: i64,
    #[factory(association = AtkUser)]
    reviewer_id: i64,
    #[factory(association = AtkUser)]
    approver_id: Option<i64>,
}

/// Two foreign keys to the users' ids, the second nullable.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = AtkUser)]
    owner_id: i64,
    #[factory(association = AtkUser)]
    editor_id: Option<i64>,
}

/// A parent with a two-column key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_splits")]
struct AtkSplit {
    #[factory(primary_key, sequence = |n| format!("index-{}", n % 2))]
    index_uid: String,
    #[factory(primary_key, sequence = |n| format!("split-{n}"))]
    split_id: String,
}

/// Two composite foreign keys to the splits. (clippy's `duplicated_attributes` takes the
/// second `association(..)`, alike but for its fields, for a copy of the first.)
#[allow(clippy::duplicated_attributes)]
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(
    table = "atk_merges",
    association(
        AtkSplit,
        fields(from_index, from_split),
        references(index_uid, split_id)
    ),
    association(AtkSplit, fields(to_index, to_split), references(index_uid, split_id))
)]
struct Merge {
    #[factory(primary_key)]
    id: i64,
    from_index: String,
    from_split: String,
    to_index: String,
    to_split: String,
}

/// A tree: each node's parent is a node.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_nodes")]
struct Node {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Self)]
    parent_id: Option<i64>,
    #[factory(default = 0)]
    depth: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_posts")]
struct AtkPost {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "post".to_string())]
    title: String,
}

/// One association to the users, one to the posts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_comments")]
struct AtkComment {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = AtkUser)]
    user_id: i64,
    #[factory(association = AtkPost)]
    post_id: i64,
}

/// Rows a trigger drops (`name = 'skip'`) without an error: the INSERT returns fewer rows.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "atk_tags")]
struct AtkTag {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("tag{n}"))]
    name: String,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE atk_users (id {pk}, email {text} NOT NULL UNIQUE);
         CREATE TABLE atk_reviews (id {pk},
           author_id BIGINT NOT NULL REFERENCES atk_users (id),
           reviewer_id BIGINT NOT NULL REFERENCES atk_users (id),
           approver_id BIGINT NULL REFERENCES atk_users (id));
         CREATE TABLE atk_notes (id {pk},
           owner_id BIGINT NOT NULL REFERENCES atk_users (id),
           editor_id BIGINT NULL REFERENCES atk_users (id));
         CREATE TABLE atk_splits (index_uid {text} NOT NULL, split_id {text} NOT NULL,
           PRIMARY KEY (index_uid, split_id));
         CREATE TABLE atk_merges (id {pk},
           from_index {text} NOT NULL, from_split {text} NOT NULL,
           to_index {text} NOT NULL, to_split {text} NOT NULL,
           FOREIGN KEY (from_index, from_split) REFERENCES atk_splits (index_uid, split_id),
           FOREIGN KEY (to_index, to_split) REFERENCES atk_splits (index_uid, split_id));
         CREATE TABLE atk_nodes (id {pk}, parent_id BIGINT NULL REFERENCES atk_nodes (id),
           depth BIGINT NOT NULL);
         CREATE TABLE atk_posts (id {pk}, title TEXT NOT NULL);
         CREATE TABLE atk_comments (id {pk},
           user_id BIGINT NOT NULL REFERENCES atk_users (id),
           post_id BIGINT NOT NULL REFERENCES atk_posts (id));
         CREATE TABLE atk_tags (id {pk}, name TEXT NOT NULL)",
        pk = kind.serial_pk(),
        text = kind.varchar(),
    )
}

/// `SELECT COUNT(*)`-like scalar seen by the observer.
macro_rules! scalar {
    ($observer:expr, $sql:expr) => {{
        let n: i64 = bounded(sqlx::query_scalar($sql).fetch_one(&$observer))
            .await
            .unwrap();
        n
    }};
}

/// Makes `n` users and returns their ids.
macro_rules! users {
    ($pool:expr, $n:expr) => {{
        let users = bounded(AtkUser::factory().with_session(&$pool).create_batch($n))
            .await
            .unwrap();
        users.iter().map(|u| u.id).collect::<Vec<i64>>()
    }};
}

/// What a second connection sees of the reviews: all, those whose three fields JOIN a user,
/// and those with two equal fields (any pair).
macro_rules! reviews_seen {
    ($observer:expr) => {{
        let all = scalar!($observer, "SELECT COUNT(*) FROM atk_reviews");
        let joined = scalar!(
            $observer,
            "SELECT COUNT(*) FROM atk_reviews r JOIN atk_users a ON a.id = r.author_id
             JOIN atk_users b ON b.id = r.reviewer_id JOIN atk_users c ON c.id = r.approver_id"
        );
        let repeated = scalar!(
            $observer,
            "SELECT COUNT(*) FROM atk_reviews WHERE author_id = reviewer_id
             OR reviewer_id = approver_id OR author_id = approver_id"
        );
        (all, joined, repeated)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Three associations to one parent, four users: every field JOINs a user, none NULL, and
    /// no review has one user in two roles (there are enough users for three different ones).
    async fn three_associations_never_repeat(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 4);
        let sent = bounded(
            Review::factory()
                .with_session(&pool)
                .insert_many(120)
                .chunk_rows(7)
                .parents_from::<AtkUser>(ids),
        )
        .await
        .unwrap();
        assert_eq!(sent, 120);
        assert_eq!(reviews_seen!(observer), (120, 120, 0));
        // Each role as often in every user.
        for field in ["author_id", "reviewer_id", "approver_id"] {
            let sql = format!(
                "SELECT COUNT(r.id) FROM atk_users u LEFT JOIN atk_reviews r ON r.{field} = u.id
                 GROUP BY u.id ORDER BY u.id"
            );
            let per_user: Vec<i64> = bounded(
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&observer),
            )
            .await
            .unwrap();
            assert_eq!(per_user, vec![30; 4], "{field}");
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A field the user set on the factory keeps its value: `.reviewer_id(admin)` with
    /// `parents_from::<AtkUser>(others)` reviews every row by the admin, the other two roles
    /// from the users given; so does a nullable one given `Some(admin)`.
    async fn set_association_is_kept(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 4);
        let (admin, others) = (ids[0], ids[1..].to_vec());
        bounded(
            Review::factory()
                .with_session(&pool)
                .reviewer_id(admin)
                .insert_many(12)
                .chunk_rows(5)
                .parents_from::<AtkUser>(others),
        )
        .await
        .unwrap();
        let sql = format!(
            "SELECT COUNT(*) FROM atk_reviews WHERE reviewer_id = {admin}
             AND author_id <> {admin} AND approver_id <> {admin} AND author_id <> approver_id"
        );
        let n: i64 = bounded(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&observer))
            .await
            .unwrap();
        assert_eq!(n, 12);
        // A nullable one given a value keeps it too.
        bounded(
            Note::factory()
                .with_session(&pool)
                .editor_id(Some(admin))
                .insert_many(6)
                .parents_from::<AtkUser>(ids[1..].to_vec()),
        )
        .await
        .unwrap();
        let sql = format!(
            "SELECT COUNT(*) FROM atk_notes WHERE editor_id = {admin} AND owner_id <> {admin}"
        );
        let n: i64 = bounded(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&observer))
            .await
            .unwrap();
        assert_eq!(n, 6);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Three associations, three users: each review has the three users, one per role.
    async fn three_associations_three_values(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 3);
        bounded(
            Review::factory()
                .with_session(&pool)
                .insert_many(60)
                .parents_from::<AtkUser>(ids),
        )
        .await
        .unwrap();
        assert_eq!(reviews_seen!(observer), (60, 60, 0));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Three associations, two users: repeats cannot be avoided, but every field holds one of
    /// the two users (no NULL, no other user), and author and reviewer differ.
    async fn three_associations_two_values(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 2);
        bounded(
            Review::factory()
                .with_session(&pool)
                .insert_many(9)
                .chunk_rows(4)
                .parents_from::<AtkUser>(ids),
        )
        .await
        .unwrap();
        let (all, joined, _) = reviews_seen!(observer);
        assert_eq!((all, joined), (9, 9));
        assert_eq!(
            scalar!(observer, "SELECT COUNT(*) FROM atk_reviews WHERE author_id = reviewer_id"),
            0
        );
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_users"), 2);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A nullable second association is filled too (not left NULL), never with the first's
    /// user; over 23 rows in chunks of 7 from 3 users (no multiple of either), each user owns
    /// 8, 8 and 7 notes.
    async fn nullable_second_association(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 3);
        let sent = bounded(
            Note::factory()
                .with_session(&pool)
                .insert_many(23)
                .chunk_rows(7)
                .parents_from::<AtkUser>(ids.clone()),
        )
        .await
        .unwrap();
        assert_eq!(sent, 23);
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM atk_notes n JOIN atk_users o ON o.id = n.owner_id
                 JOIN atk_users e ON e.id = n.editor_id WHERE n.owner_id <> n.editor_id"
            ),
            23
        );
        let owned: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(n.id) FROM atk_users u LEFT JOIN atk_notes n ON n.owner_id = u.id
                 GROUP BY u.id ORDER BY u.id",
            )
            .fetch_all(&observer),
        )
        .await
        .unwrap();
        assert_eq!(owned, vec![8, 8, 7]);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Two users, 5 notes: owner and editor alternate, never the same user.
    async fn two_values_odd_rows(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 2);
        bounded(
            Note::factory()
                .with_session(&pool)
                .insert_many(5)
                .parents_from::<AtkUser>(ids.iter().copied()),
        )
        .await
        .unwrap();
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM atk_notes n JOIN atk_users o ON o.id = n.owner_id
                 JOIN atk_users e ON e.id = n.editor_id WHERE n.owner_id <> n.editor_id"
            ),
            5
        );
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Two composite associations to one parent: both fields pairs JOIN a split, the two
    /// splits of a merge differ.
    async fn composite_two_associations(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let splits = bounded(AtkSplit::factory().with_session(&pool).create_batch(3))
            .await
            .unwrap();
        let keys: Vec<(String, String)> = splits
            .iter()
            .map(|s| (s.index_uid.clone(), s.split_id.clone()))
            .collect();
        bounded(
            Merge::factory()
                .with_session(&pool)
                .insert_many(20)
                .chunk_rows(7)
                .parents_from::<AtkSplit>(keys),
        )
        .await
        .unwrap();
        bounded(
            Merge::factory()
                .with_session(&pool)
                .insert_many(10)
                .parents_from_table::<AtkSplit>(),
        )
        .await
        .unwrap();
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM atk_merges m
                 JOIN atk_splits a ON a.index_uid = m.from_index AND a.split_id = m.from_split
                 JOIN atk_splits b ON b.index_uid = m.to_index AND b.split_id = m.to_split
                 WHERE m.from_split <> m.to_split"
            ),
            30
        );
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_splits"), 3);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A model pointing at itself: `parents_from::<Node>` with existing nodes' ids and
    /// `parents_from_table::<Node>()` hang every new node under an existing one.
    async fn self_reference(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let roots = bounded(Node::factory().with_session(&pool).create_batch(2))
            .await
            .unwrap();
        let root_ids: Vec<i64> = roots.iter().map(|n| n.id).collect();
        bounded(
            Node::factory()
                .with_session(&pool)
                .depth(1)
                .insert_many(10)
                .chunk_rows(3)
                .parents_from::<Node>(root_ids.clone()),
        )
        .await
        .unwrap();
        let before = scalar!(observer, "SELECT COUNT(*) FROM atk_nodes");
        assert_eq!(before, 10 + scalar!(observer, "SELECT COUNT(*) FROM atk_nodes WHERE depth = 0"));
        bounded(
            Node::factory()
                .with_session(&pool)
                .depth(2)
                .insert_many(5)
                .parents_from_table::<Node>(),
        )
        .await
        .unwrap();
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM atk_nodes c JOIN atk_nodes p ON p.id = c.parent_id
                 WHERE c.depth > 0"
            ),
            15
        );
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM atk_nodes WHERE depth = 1 AND parent_id IN (SELECT id FROM atk_nodes WHERE depth = 0)"
            ),
            10
        );
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `with_children` from a model into itself: each new root gets its 3 children, over
    /// several chunks of roots.
    async fn self_reference_with_children(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        bounded(
            Node::factory()
                .with_session(&pool)
                .insert_many(10)
                .chunk_rows(4)
                .with_children(3, Node::factory().depth(1)),
        )
        .await
        .unwrap();
        assert_eq!(
            scalar!(
                observer,
                "SELECT COUNT(*) FROM (SELECT p.id FROM atk_nodes p
                 JOIN atk_nodes c ON c.parent_id = p.id AND c.depth = 1
                 WHERE p.depth = 0 AND p.parent_id IS NULL GROUP BY p.id HAVING COUNT(*) = 3) t"
            ),
            10
        );
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_nodes"), 40);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from` for the users only, while comments also point at posts: an error that
    /// names the parent left out, and nothing sent.
    async fn unseeded_second_parent(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 2);
        let error = bounded(
            AtkComment::factory()
                .with_session(&pool)
                .insert_many(4)
                .parents_from::<AtkUser>(ids),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("`.parents_from::<AtkPost>(values)`") && text.contains("`post_id`"),
            "names the parent left out: {text}"
        );
        common::reads_as_ours(error);
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_comments"), 0);
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_posts"), 0);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from_table` over an empty table: our error, naming the table, nothing sent.
    async fn parents_from_empty_table(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let error = bounded(
            Note::factory()
                .with_session(&pool)
                .insert_many(4)
                .parents_from_table::<AtkUser>(),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("atk_users"), "{text}");
        common::reads_as_ours(error);
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_notes"), 0);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `with_children` from users into comments, which also point at posts: an error of ours
    /// that names the field and says to set it on the children's factory (which takes no
    /// `parents_from`), and nothing committed.
    async fn with_children_into_child_with_another_parent(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let error = bounded(
            AtkUser::factory()
                .with_session(&pool)
                .insert_many(3)
                .with_children(2, AtkComment::factory()),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`AtkPost`") && text.contains("`.post_id(..)`"), "{text}");
        common::reads_as_ours(error);
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_comments"), 0);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `returning_keys()` on a seed that fills two associations: one key per row, each a
    /// note whose owner and editor are two of the users given.
    async fn returning_keys_two_associations(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let ids = users!(pool, 3);
        let keys: Vec<i64> = bounded(
            Note::factory()
                .with_session(&pool)
                .insert_many(17)
                .chunk_rows(7)
                .parents_from::<AtkUser>(ids.clone())
                .returning_keys(),
        )
        .await
        .unwrap();
        assert_eq!(keys.len(), 17);
        let mut seen: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT n.id FROM atk_notes n JOIN atk_users o ON o.id = n.owner_id
                 JOIN atk_users e ON e.id = n.editor_id WHERE n.owner_id <> n.editor_id
                 ORDER BY n.id",
            )
            .fetch_all(&observer),
        )
        .await
        .unwrap();
        seen.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, seen);
    }
}

on_dbs! {
    [sqlite, postgres]
    /// A trigger that drops rows silently (SQLite's `RAISE(IGNORE)`, a PostgreSQL `BEFORE`
    /// trigger returning NULL): `create_batch` reads back fewer rows than it sent, and says so
    /// in our words, printed without sqlx's prefix however the user prints it.
    async fn fewer_rows_returned_reads_as_ours(mk, observer, kind) {
        let sql = match kind {
            Kind::Postgres => {
                "CREATE FUNCTION atk_skip() RETURNS trigger AS $$ BEGIN
                   IF NEW.name = 'skip' THEN RETURN NULL; END IF; RETURN NEW; END $$
                 LANGUAGE plpgsql;
                 CREATE TRIGGER atk_skip BEFORE INSERT ON atk_tags FOR EACH ROW
                   EXECUTE FUNCTION atk_skip()"
            }
            _ => {
                "CREATE TRIGGER atk_skip BEFORE INSERT ON atk_tags WHEN NEW.name = 'skip'
                 BEGIN SELECT RAISE(IGNORE); END"
            }
        };
        bounded(sqlx::raw_sql(sql).execute(&observer)).await.unwrap();
        let pool = mk(1).await.unwrap();
        let error = bounded(
            AtkTag::factory()
                .with_session(&pool)
                .name("skip".to_string())
                .create_batch(3),
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("the INSERT of 3 rows returned 0: a trigger or rule on the table skipped rows"),
            "{error}"
        );
        common::reads_as_ours(error);
        // A seed's keys go to its rows by position: fewer keys than rows is an error, not a
        // shorter list (nor children under the wrong parents).
        let keys = bounded(
            AtkTag::factory()
                .with_session(&pool)
                .name("skip".to_string())
                .insert_many(3)
                .returning_keys(),
        )
        .await;
        let error = keys.expect_err("3 rows sent, no key returned");
        assert!(
            error.to_string().contains("returned 0 of the")
                && error.to_string().contains("keys cannot be matched to the rows"),
            "{error}"
        );
        common::reads_as_ours(error);
        assert_eq!(scalar!(observer, "SELECT COUNT(*) FROM atk_tags"), 0);
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(
            &mut *conn, kind, AtkUser, Review, Note, AtkSplit, Merge, Node, AtkPost, AtkComment,
            AtkTag
        );
    }
}
