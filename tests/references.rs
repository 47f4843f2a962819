//! Relations as real schemas have them: keys of exactly the parent's type, natural
//! keys, optional keys created by default, `try_from` fields, hand-written `FromRow`, and keys
//! the application must give.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

#[path = "common/statements.rs"]
mod statements;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "subscriptions")]
struct Subscription {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("sub{n}@example.com"))]
    email: String,
}

/// A natural-key reference: the column holds the subscription's email, not its id.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Subscription, references = email)]
    subscriber_email: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

/// A nullable key the application always fills: a parent by default, NULL when asked.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "wallets")]
struct Wallet {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Account, create_parent)]
    account_id: Option<i64>,
}

/// A newtype id parsed from text.
#[derive(Debug, Clone, PartialEq)]
struct Slug(String);

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.strip_prefix("post-") {
            Some(_) => Ok(Slug(text)),
            None => Err(format!("not a slug: {text}")),
        }
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

/// `try_from` fields: bound back through the conversion the user names (`into`) or through
/// the `try_from` type itself (`u64` stored as `i64`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(try_from = "String")]
    #[factory(into = String, sequence = |n| Slug(format!("post-{n}")))]
    slug: Slug,
    #[sqlx(try_from = "i64")]
    #[factory(default = 7u64)]
    views: u64,
}

/// A key the application generates (`id TEXT PRIMARY KEY`) but the model leaves without a value.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "api_keys")]
struct ApiKey {
    #[factory(primary_key)]
    id: String,
    label: String,
}

/// A child of `ApiKey`: creating it creates a key with no value as its parent.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "api_key_uses")]
struct ApiKeyUse {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ApiKey)]
    api_key_id: String,
}

/// A `FromRow` written by hand instead of derived.
#[derive(Debug, Clone, PartialEq, Factory)]
#[factory(table = "notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "hello".to_string())]
    body: String,
    /// Not a column: `#[sqlx(skip)]` must be accepted without sqlx's derive.
    #[factory(skip)]
    #[sqlx(skip)]
    cached: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Note
where
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Note {
            id: row.try_get("id")?,
            body: row.try_get("body")?,
            cached: None,
        })
    }
}

#[path = "common/splits.rs"]
mod splits;
use splits::{Split, SplitTag};

/// Two tables that reference each other: the nullable side is inserted with NULL and set with
/// an `UPDATE` once its event exists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "chat_sessions")]
struct ChatSession {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ChatEvent, back_reference = session_id)]
    head_event_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "chat_events")]
struct ChatEvent {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ChatSession)]
    session_id: i64,
    #[factory(sequence = |n| format!("event {n}"))]
    name: String,
}

/// A two-way reference on a get-or-create model: a found channel is returned as stored (no new
/// pinned message, no `UPDATE`); an inserted one gets its pinned message as any create.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "channels", get_or_create(slug))]
struct Channel {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "general".to_string())]
    slug: String,
    #[factory(association = Message, back_reference = channel_id)]
    pinned_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "messages")]
struct Message {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Channel)]
    channel_id: i64,
    #[factory(default = "welcome".to_string())]
    body: String,
}

/// The other way round: the `back_reference` parent has `get_or_create`, so the one it finds
/// may point at another row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "channels")]
struct Board {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("board-{n}"))]
    slug: String,
    #[factory(association = Notice, back_reference = channel_id)]
    pinned_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "messages", get_or_create(body))]
struct Notice {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Board)]
    channel_id: i64,
    #[factory(default = "rules".to_string())]
    body: String,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    let text = kind.varchar();
    for sql in [
        format!("CREATE TABLE api_keys (id {text} PRIMARY KEY, label TEXT NOT NULL)"),
        format!("CREATE TABLE api_key_uses (id {pk}, api_key_id {text} NOT NULL)"),
        format!("CREATE TABLE notes (id {pk}, body TEXT NOT NULL)"),
        format!("CREATE TABLE subscriptions (id {pk}, email {text} NOT NULL UNIQUE)"),
        format!(
            "CREATE TABLE confirmations (id {pk}, subscriber_email {text} NOT NULL REFERENCES subscriptions(email))"
        ),
        format!("CREATE TABLE accounts (id {pk}, name TEXT NOT NULL)"),
        format!("CREATE TABLE wallets (id {pk}, account_id BIGINT REFERENCES accounts(id))"),
        format!(
            "CREATE TABLE splits (index_uid {text} NOT NULL, split_id {text} NOT NULL, num_docs BIGINT NOT NULL, \
             PRIMARY KEY (index_uid, split_id))"
        ),
        format!(
            "CREATE TABLE split_tags (id {pk}, split_index {text} NOT NULL, split {text} NOT NULL, tag TEXT NOT NULL, \
             FOREIGN KEY (split_index, split) REFERENCES splits(index_uid, split_id))"
        ),
        match kind {
            Kind::Sqlite => format!(
                "CREATE TABLE chat_sessions (id {pk}, head_event_id BIGINT REFERENCES chat_events(id))"
            ),
            _ => format!("CREATE TABLE chat_sessions (id {pk}, head_event_id BIGINT)"),
        },
        format!(
            "CREATE TABLE chat_events (id {pk}, session_id BIGINT NOT NULL REFERENCES chat_sessions(id), name TEXT NOT NULL)"
        ),
        match kind {
            Kind::Sqlite => "SELECT 1".to_string(),
            _ => "ALTER TABLE chat_sessions ADD FOREIGN KEY (head_event_id) REFERENCES chat_events(id)"
                .to_string(),
        },
        format!("CREATE TABLE posts (id {pk}, slug {text} NOT NULL UNIQUE, views BIGINT NOT NULL)"),
        match kind {
            Kind::Sqlite => format!(
                "CREATE TABLE channels (id {pk}, slug {text} NOT NULL UNIQUE, pinned_id BIGINT REFERENCES messages(id))"
            ),
            _ => format!("CREATE TABLE channels (id {pk}, slug {text} NOT NULL UNIQUE, pinned_id BIGINT)"),
        },
        format!(
            "CREATE TABLE messages (id {pk}, channel_id BIGINT NOT NULL REFERENCES channels(id), body TEXT NOT NULL)"
        ),
        match kind {
            Kind::Sqlite => "SELECT 1".to_string(),
            _ => "ALTER TABLE channels ADD FOREIGN KEY (pinned_id) REFERENCES messages(id)".to_string(),
        },
    ] {
        exec!(conn, sql);
    }
}

on_every_backend! {
    /// The same key created as a parent, whose key alone is read back: the create fails too
    /// (SQLite would store NULL and the child would point at nothing), naming the key.
    async fn parent_key_without_value_is_an_error(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let result = ApiKeyUse::factory().with_session(&mut tx).create_batch(3).await;
        let error = format!("{:#}", result.expect_err("a NULL parent key must be an error"));
        if kind == Kind::Sqlite {
            assert!(error.contains("NULL for the key `id`") && error.contains("#[factory(default = ..)]"), "{error}");
        }
        let stored: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM api_keys) + (SELECT COUNT(*) FROM api_key_uses)",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(stored, 0, "nothing of the failed batch stays");
    }
}

on_every_backend! {
    /// A key column the database does not fill and the factory gave no value: the create
    /// fails (SQLite would store NULL and return `id == ""`), and says how to fix the model.
    async fn key_without_value_is_an_error(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let result = ApiKey::factory().with_session(&mut tx).in_savepoint().create().await;
        let error = result.expect_err("a NULL key must not come back as a created row").to_string();
        if kind == Kind::Sqlite {
            assert!(error.contains("NULL for the key `id`") && error.contains("#[factory(default = ..)]"), "{error}");
        }
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, 0, "the row with no key is rolled back with the savepoint");
        // Given a value, the same model works.
        let key = ApiKey::factory().with_session(&mut tx).id("k-1").create().await.unwrap();
        assert_eq!(key.id, "k-1");
    }
}

on_every_backend! {
    /// A hand-written `impl FromRow` works with the derive: create and batch decode through it.
    async fn hand_written_from_row(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let note = Note::factory().with_session(&mut tx).create().await.unwrap();
        assert_eq!(note.body, "hello");
        let notes = Note::factory().with_session(&mut tx).body("b".to_string()).create_batch(3).await.unwrap();
        assert_eq!(notes.len(), 3);
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT id, body FROM notes ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored[0], (note.id, "hello".to_string()));
        assert_eq!(stored.len(), 4);
        assert!(stored[1..].iter().all(|(_, b)| b == "b"));
        let built = Note::factory().build(); // no session, no database
        assert_eq!(built.body, "hello");
    }
}

on_every_backend! {
    /// `references = email`: the child stores the parent's email, one parent per child, and a
    /// batch of 100 is one INSERT per table.
    async fn natural_key_reference(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let one = Confirmation::factory().with_session(&mut tx).create().await.unwrap();
        let (id, email): (i64, String) = sqlx::query_as(
            "SELECT s.id, s.email FROM confirmations c JOIN subscriptions s ON s.email = c.subscriber_email",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(email, one.subscriber_email);
        assert!(email.starts_with("sub"), "the email, not the id {id} as text: {email}");

        let counting = statements::start().await;
        let many = Confirmation::factory().with_session(&mut tx).create_batch(100).await.unwrap();
        let inserts = counting.inserts_into(kind, &["subscriptions", "confirmations"]);
        drop(counting);
        assert_eq!(inserts.len(), 2, "{inserts:#?}");
        let joined: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT s.id) FROM confirmations c JOIN subscriptions s ON s.email = c.subscriber_email",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(joined, 101, "every confirmation has a parent of its own");
        assert_eq!(many.len(), 100);

        // A given key is used as is; a customised parent is created for it.
        let given = Confirmation::factory()
            .with_session(&mut tx)
            .subscriber_email_with(|s| s.email("ann@example.com"))
            .create()
            .await
            .unwrap();
        assert_eq!(given.subscriber_email, "ann@example.com");
        let built = Confirmation::factory().build(); // no session, no database
        assert!(!built.subscriber_email.is_empty());
    }
}

on_every_backend! {
    /// `create_parent` on an `Option` key: a parent unless told otherwise; a batch is one
    /// INSERT per table; `None` still stores NULL.
    async fn optional_key_created_by_default(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let wallet = Wallet::factory().with_session(&mut tx).create().await.unwrap();
        let owner: i64 = sqlx::query_scalar(
            "SELECT a.id FROM wallets w JOIN accounts a ON a.id = w.account_id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(wallet.account_id, Some(owner));

        let counting = statements::start().await;
        let many = Wallet::factory().with_session(&mut tx).create_batch(100).await.unwrap();
        let inserts = counting.inserts_into(kind, &["accounts", "wallets"]);
        drop(counting);
        assert_eq!(inserts.len(), 2, "{inserts:#?}");
        assert!(many.iter().all(|w| w.account_id.is_some()));

        let orphan = Wallet::factory().with_session(&mut tx).account_id(None::<i64>).create().await.unwrap();
        assert_eq!(orphan.account_id, None);
        let joined: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM wallets w JOIN accounts a ON a.id = w.account_id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(joined, 101);
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(accounts, 101, "no parent for the NULL key");
        assert!(Wallet::factory().build().account_id.is_some());
    }
}

on_every_backend! {
    /// `#[sqlx(try_from = "..")]` fields are bound back as that type: the stored text is the
    /// slug, the stored number the count, and a value the column cannot hold is an error.
    async fn try_from_fields(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let post = Post::factory().with_session(&mut tx).views(12u64).create().await.unwrap();
        assert!(post.slug.0.starts_with("post-"));
        assert_eq!(post.views, 12);
        let stored: (String, i64) = sqlx::query_as("SELECT slug, views FROM posts")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, (post.slug.0.clone(), 12));
        let batch = Post::factory().with_session(&mut tx).create_batch(5).await.unwrap();
        assert!(batch.iter().all(|p| p.views == 7 && p.slug.0.starts_with("post-")));

        let error = Post::factory()
            .with_session(&mut tx)
            .views(u64::MAX)
            .in_savepoint()
            .create()
            .await
            .expect_err("u64::MAX does not fit an i64 column")
            .to_string();
        assert!(error.contains("out of range"), "{error}");
    }
}

on_every_backend! {
    /// A composite foreign key: both fields from one parent per row (checked with a JOIN on
    /// both columns), a batch of 100 is one INSERT per table, and given fields create no parent.
    async fn composite_key(conn, kind) {
        schema(conn, kind).await;
        if kind == Kind::Sqlite {
            exec!(conn, "PRAGMA foreign_keys = ON".to_string());
        }
        let mut tx = conn.begin().await.unwrap();
        let tag = SplitTag::factory().with_session(&mut tx).create().await.unwrap();
        let (index_uid, split_id): (String, String) = sqlx::query_as(
            "SELECT s.index_uid, s.split_id FROM split_tags t \
             JOIN splits s ON s.index_uid = t.split_index AND s.split_id = t.split",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!((index_uid, split_id), (tag.split_index.clone(), tag.split.clone()));

        let counting = statements::start().await;
        let tags = SplitTag::factory().with_session(&mut tx).create_batch(100).await.unwrap();
        let inserts = counting.inserts_into(kind, &["splits", "split_tags"]);
        drop(counting);
        assert_eq!(inserts.len(), 2, "{inserts:#?}");
        assert_eq!(tags.len(), 100);
        let joined: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT s.split_id) FROM split_tags t \
             JOIN splits s ON s.index_uid = t.split_index AND s.split_id = t.split",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(joined, 101, "one parent per row");

        let given = SplitTag::factory()
            .with_session(&mut tx)
            .split_index(tag.split_index.clone())
            .split(tag.split.clone())
            .create()
            .await
            .unwrap();
        assert_eq!(given.split, tag.split);
        let splits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM splits")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(splits, 101, "given keys create no parent");

        let custom = SplitTag::factory()
            .with_session(&mut tx)
            .split_index_with(|s| s.index_uid("custom").num_docs(3))
            .create()
            .await
            .unwrap();
        assert_eq!(custom.split_index, "custom");
        let built = SplitTag::factory().build(); // no session, no database
        assert_eq!(built.tag, "hot");
    }
}

on_every_backend! {
    /// A two-way reference with a nullable side: the session is inserted with NULL, its head
    /// event is created pointing at it, and an `UPDATE` sets the head; the returned row has it.
    async fn two_way_reference(conn, kind) {
        schema(conn, kind).await;
        if kind == Kind::Sqlite {
            exec!(conn, "PRAGMA foreign_keys = ON".to_string());
        }
        let mut tx = conn.begin().await.unwrap();
        let session = ChatSession::factory().with_session(&mut tx).create().await.unwrap();
        let (head, owner): (i64, i64) = sqlx::query_as(
            "SELECT e.id, e.session_id FROM chat_sessions s JOIN chat_events e ON e.id = s.head_event_id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(session.head_event_id, Some(head), "the returned row carries the final key");
        assert_eq!(owner, session.id, "the head event belongs to the session");

        let counting = statements::start().await;
        let many = ChatSession::factory().with_session(&mut tx).create_batch(100).await.unwrap();
        let inserts = counting.inserts_into(kind, &["chat_sessions", "chat_events"]);
        drop(counting);
        assert_eq!(inserts.len(), 2, "{inserts:#?}");
        let both_ways: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_sessions s JOIN chat_events e ON e.id = s.head_event_id AND e.session_id = s.id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(both_ways, 101);
        assert!(many.iter().all(|s| s.head_event_id.is_some()));

        // From the other side: the event creates its session, whose head stays NULL.
        let event = ChatEvent::factory().with_session(&mut tx).create().await.unwrap();
        let head: Option<i64> = sqlx::query_scalar(
            "SELECT s.head_event_id FROM chat_events e JOIN chat_sessions s ON s.id = e.session_id WHERE e.id = (SELECT MAX(id) FROM chat_events)",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(head, None, "{event:?}");

        let bare = ChatSession::factory().with_session(&mut tx).head_event_id(None::<i64>).create().await.unwrap();
        assert_eq!(bare.head_event_id, None);
        assert!(ChatSession::factory().build().head_event_id.is_some());
    }
}

on_every_backend! {
    /// `back_reference` with `get_or_create`: a found row is returned as stored (its pinned
    /// message is not replaced, no message is created); an inserted one gets its message, and
    /// a key repeated in a batch is inserted once, with one message.
    async fn back_reference_get_or_create(conn, kind) {
        schema(conn, kind).await;
        if kind == Kind::Sqlite {
            exec!(conn, "PRAGMA foreign_keys = ON".to_string());
        }
        let mut tx = conn.begin().await.unwrap();
        let general = Channel::factory().with_session(&mut tx).create().await.unwrap();
        let pinned = general.pinned_id.expect("an inserted channel gets its pinned message");

        let again = Channel::factory().with_session(&mut tx).create().await.unwrap();
        assert_eq!(again, general, "found: returned as stored");
        let found = Channel::factory().with_session(&mut tx).create_batch(2).await.unwrap();
        assert_eq!(found, vec![general.clone(), general.clone()]);

        let random = Channel::factory().with_session(&mut tx).slug("random".to_string()).create_batch(3).await.unwrap();
        assert_eq!(random.len(), 3);
        assert!(random.iter().all(|c| c == &random[0]), "one key, one row: {random:?}");
        assert_ne!(random[0].pinned_id, None);

        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT c.slug, m.id, m.channel_id FROM channels c JOIN messages m ON m.id = c.pinned_id ORDER BY c.id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("general".to_string(), pinned, general.id),
                ("random".to_string(), random[0].pinned_id.unwrap(), random[0].id),
            ],
            "each channel's pinned message points back at it"
        );
        let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(messages, 2, "a found channel creates no message");
    }
}

on_every_backend! {
    /// A `back_reference` parent found by its `get_or_create` key points at another row: the
    /// create fails and says why, rather than store a key that references the wrong row.
    async fn back_reference_parent_found_elsewhere(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = Board::factory().with_session(&mut tx).create().await.unwrap();
        let error = Board::factory()
            .with_session(&mut tx)
            .create()
            .await
            .expect_err("the found notice belongs to the first board")
            .to_string();
        assert!(
            error.contains("`get_or_create` found a stored `Notice` whose `channel_id` points at another `Board`"),
            "{error}"
        );
        let boards: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, pinned_id FROM channels")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(boards, vec![(first.id, first.pinned_id)], "the failed create left no row");
        // Each board with a notice of its own works.
        let own = Board::factory()
            .with_session(&mut tx)
            .pinned_id_with(|n| n.body("board rules".to_string()))
            .create()
            .await
            .unwrap();
        let sql = format!(
            "SELECT m.channel_id FROM channels c JOIN messages m ON m.id = c.pinned_id WHERE c.id = {}",
            own.id
        );
        let owner: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(owner, own.id);
    }
}

/// One helper for every backend and every model: `M: Creatable<DB>` is the bound to write.
async fn make_many<DB: sqlx_factory::Backend, M: sqlx_factory::Creatable<DB>>(
    tx: &mut sqlx::Transaction<'_, DB>,
    n: usize,
) -> Vec<M> {
    M::create_batch(tx, n).await.unwrap()
}

/// A helper generic over the backend for one model.
async fn make_confirmation<DB: sqlx_factory::Backend>(
    tx: &mut sqlx::Transaction<'_, DB>,
) -> Confirmation
where
    Confirmation: sqlx_factory::Creatable<DB>,
{
    use sqlx_factory::Creatable;
    Confirmation::create(tx).await.unwrap()
}

on_every_backend! {
    /// Helpers generic over the backend (and the model) create rows, parents and back
    /// references included, as the factory does.
    async fn backend_generic_helper(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let one = make_confirmation(&mut tx).await;
        let wallets: Vec<Wallet> = make_many(&mut tx, 3).await;
        let sessions: Vec<ChatSession> = make_many(&mut tx, 2).await;
        let email: String = sqlx::query_scalar(
            "SELECT s.email FROM confirmations c JOIN subscriptions s ON s.email = c.subscriber_email",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(email, one.subscriber_email);
        let owned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wallets w JOIN accounts a ON a.id = w.account_id")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!((owned, wallets.len()), (3, 3));
        let both_ways: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_sessions s JOIN chat_events e ON e.id = s.head_event_id AND e.session_id = s.id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(both_ways, 2);
        assert!(sessions.iter().all(|s| s.head_event_id.is_some()));
    }
}

/// A `back_reference` whose parent's field `references` a column other than the key: the
/// parent created after each row stores that column (`number`), not the row's id.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "numbered_sessions")]
struct NumberedSession {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| 1_000_000 + n as i64)]
    number: i64,
    #[factory(association = NumberedEvent, back_reference = session_number)]
    head_event_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "numbered_events")]
struct NumberedEvent {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = NumberedSession, references = number)]
    session_number: i64,
}

/// The tables of [`NumberedSession`] and [`NumberedEvent`].
fn numbered_ddl(kind: Kind) -> String {
    format!(
        "CREATE TABLE numbered_sessions (id {pk}, number BIGINT NOT NULL UNIQUE, head_event_id BIGINT); \
         CREATE TABLE numbered_events (id {pk}, \
             session_number BIGINT NOT NULL REFERENCES numbered_sessions (number))",
        pk = kind.serial_pk()
    )
}

on_every_backend! {
    /// With a FOREIGN KEY on `number`: create() and create_batch(2) link each event to its
    /// session by number, and each session's head to its event.
    async fn back_reference_to_referenced_field(conn, kind) {
        if kind == Kind::Sqlite {
            exec!(conn, "PRAGMA foreign_keys = ON".to_string());
        }
        exec!(conn, numbered_ddl(kind));
        let mut tx = conn.begin().await.unwrap();
        let one = NumberedSession::factory().with_session(&mut tx).create().await.unwrap();
        let two = NumberedSession::factory().with_session(&mut tx).create_batch(2).await.unwrap();
        tx.commit().await.unwrap();
        let stored: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT s.id, s.number, e.session_number FROM numbered_sessions s \
             JOIN numbered_events e ON e.id = s.head_event_id ORDER BY s.id",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let expected: Vec<(i64, i64, i64)> = [&one].into_iter().chain(&two).map(|s| (s.id, s.number, s.number)).collect();
        assert_eq!(stored, expected, "each session's head event stores the session's number");
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and an error for `ApiKey`, whose key nobody fills (`ApiKeyUse`'s own
    /// table is right: its create fails creating that parent).
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        exec!(conn, numbered_ddl(kind));
        check_clean!(
            &mut *conn,
            kind,
            Subscription,
            Confirmation,
            Account,
            Wallet,
            Post,
            ApiKeyUse,
            Note,
            Split,
            SplitTag,
            ChatSession,
            ChatEvent,
            Channel,
            Message,
            Board,
            Notice,
            NumberedSession,
            NumberedEvent,
        );
        check_finds!(&mut *conn, kind, ApiKey, "id", "the database does not fill");
    }
}
