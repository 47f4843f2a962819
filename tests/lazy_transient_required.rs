//! `lazy` fields computed from the others, `transient` parameters, `required` fields.

mod common;

use sqlx_factory::Factory;

use common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "profiles")]
struct Profile {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(lazy = |p: &Profile| format!("{}@example.com", p.name.to_lowercase().replace(' ', ".")))]
    email: String,
    #[factory(lazy = |p: &Profile| if p.upcased { p.name.to_uppercase() } else { p.name.clone() })]
    display: String,
    /// Not a column: a parameter that lazy fields and hooks read.
    #[factory(transient, default = false)]
    #[sqlx(skip)]
    upcased: bool,
    #[factory(transient, default = 0)]
    #[sqlx(skip)]
    badges: usize,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "invites")]
struct Invite {
    #[factory(primary_key)]
    id: i64,
    #[factory(required)]
    code: String,
    #[factory(required)]
    seats: i32,
    note: Option<String>,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    exec!(
        conn,
        format!(
            "CREATE TABLE profiles (id {pk}, name TEXT NOT NULL, email TEXT NOT NULL, display TEXT NOT NULL)"
        )
    );
    exec!(
        conn,
        format!("CREATE TABLE badges (id {pk}, profile_id BIGINT NOT NULL)")
    );
    exec!(
        conn,
        format!(
            "CREATE TABLE invites (id {pk}, code TEXT NOT NULL, seats INTEGER NOT NULL, note TEXT)"
        )
    );
}

#[test]
fn lazy_fields_follow_the_final_values() {
    let p = Profile::factory().name("Ann Lee").build();
    assert_eq!(
        (p.email.as_str(), p.display.as_str()),
        ("ann.lee@example.com", "Ann Lee")
    );
    let loud = Profile::factory().name("Ann Lee").upcased(true).build();
    assert_eq!(loud.display, "ANN LEE", "a lazy field reads a transient");
    let fixed = Profile::factory()
        .name("Ann Lee")
        .email("fixed@example.com")
        .build();
    assert_eq!(
        fixed.email, "fixed@example.com",
        "a set value wins over the lazy closure"
    );
    let random = Profile::factory().build();
    assert_eq!(
        random.email,
        format!(
            "{}@example.com",
            random.name.to_lowercase().replace(' ', ".")
        )
    );
}

#[test]
fn required_fields_are_set_before_build() {
    let invite = Invite::factory().code("WELCOME").seats(3).build();
    assert_eq!((invite.code.as_str(), invite.seats), ("WELCOME", 3));
    // Order does not matter, and other setters work in every state.
    let other = Invite::factory()
        .note(Some("hi".to_string()))
        .seats(1)
        .code("X")
        .build_batch(2);
    assert!(other.iter().all(|i| i.code == "X" && i.seats == 1));
}

on_every_backend! {
    /// Created rows carry their computed columns and get their transient values back; a hook
    /// reads a transient to insert that many rows.
    async fn lazy_and_transient_in_create_mode(conn, kind) {
        schema(conn, kind).await;
        let p = Profile::factory()
            .with_session(&mut *conn)
            .name("Bo Ek")
            .upcased(true)
            .badges(2usize)
            .after_create(|p, conn| Box::pin(async move {
                for _ in 0..p.badges {
                    let sql = format!("INSERT INTO badges (profile_id) VALUES ({})", p.id);
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
                }
                Ok(())
            }))
            .create()
            .await
            .unwrap();
        assert!(p.upcased && p.badges == 2, "transients restored on the created row: {p:?}");
        let stored: (String, String) = sqlx::query_as("SELECT email, display FROM profiles")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, ("bo.ek@example.com".to_string(), "BO EK".to_string()));
        let badges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM badges").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(badges, 2);
    }
}

on_every_backend! {
    async fn required_fields_in_create_mode(conn, kind) {
        schema(conn, kind).await;
        let invites = Invite::factory()
            .with_session(&mut *conn)
            .code("TEAM")
            .seats(5)
            .create_batch(4)
            .await
            .unwrap();
        let stored: Vec<(String, i32)> = sqlx::query_as("SELECT code, seats FROM invites ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, vec![("TEAM".to_string(), 5); 4]);
        assert_eq!(invites.len(), 4);
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there (`Invite`'s `required` fields are the test's to set: not sampled).
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        check_clean!(&mut *conn, kind, Profile, Invite);
    }
}
