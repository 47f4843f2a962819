//! Hostile values are data: quotes, `;`, NUL where the backend stores it, emoji, 4-byte UTF-8,
//! 1 MB of text, NaN and infinities where the type allows, integer extremes; tables and columns
//! named with keywords and mixed case. Everything round-trips exactly.

mod common;

use fake::RngExt;
use fake::rand::SeedableRng;
use fake::rand::rngs::StdRng;
use sqlx_factory::Factory;

use common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "order")]
struct Order {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(rename = "select")]
    text: String,
    #[factory(column = "User")]
    who: String,
    #[sqlx(rename = "from")]
    number: i64,
    real: f64,
    maybe: Option<String>,
}

fn ddl(kind: Kind) -> String {
    let (q, pk, text, float) = match kind {
        Kind::Sqlite => ('"', "INTEGER PRIMARY KEY", "TEXT", "REAL"),
        Kind::Postgres => ('"', "BIGSERIAL PRIMARY KEY", "TEXT", "DOUBLE PRECISION"),
        Kind::MariaDb => (
            '`',
            "BIGINT AUTO_INCREMENT PRIMARY KEY",
            "LONGTEXT",
            "DOUBLE",
        ),
    };
    format!(
        "CREATE TABLE {q}order{q} (id {pk}, {q}select{q} {text} NOT NULL, {q}User{q} {text} NOT NULL, \
         {q}from{q} BIGINT NOT NULL, {q}real{q} {float} NOT NULL, maybe {text})"
    )
}

fn select(kind: Kind) -> String {
    let q = if kind == Kind::MariaDb { '`' } else { '"' };
    format!(
        "SELECT id, {q}select{q}, {q}User{q} AS who, {q}from{q}, {q}real{q}, maybe FROM {q}order{q} ORDER BY id"
    )
}

/// The strings each backend stores: PostgreSQL's text cannot hold NUL.
fn strings(kind: Kind) -> Vec<String> {
    let mut strings = vec![
        "it's \"quoted\" `back` \\ slash".to_string(),
        "'; DROP TABLE \"order\"; --".to_string(),
        "🦀🎉 emoji".to_string(),
        "𝄞 𠜎 4-byte UTF-8".to_string(),
        String::new(),
        "é".repeat(500_000), // 1 MB of two-byte characters
    ];
    if kind != Kind::Postgres {
        strings.push("nul \0 inside".to_string());
    }
    strings
}

/// The floats each backend stores: SQLite turns NaN into NULL and stores -0.0 as the integer 0;
/// MariaDB's DOUBLE has neither NaN nor the infinities, and keeps no sign on zero.
fn floats(kind: Kind) -> Vec<f64> {
    let mut floats = vec![0.0, 1.5, f64::MIN_POSITIVE, f64::MAX, f64::MIN, 1e-300];
    match kind {
        Kind::Postgres => floats.extend([-0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        Kind::Sqlite => floats.extend([f64::INFINITY, f64::NEG_INFINITY]),
        Kind::MariaDb => {}
    }
    floats
}

fn same(a: &Order, b: &Order) -> bool {
    let real = a.real == b.real && a.real.is_sign_negative() == b.real.is_sign_negative()
        || a.real.is_nan() && b.real.is_nan();
    real && Order {
        real: 0.0,
        ..a.clone()
    } == Order {
        real: 0.0,
        ..b.clone()
    }
}

on_every_backend! {
    async fn hostile_values_round_trip(conn, kind) {
        exec!(conn, ddl(kind));
        let strings = strings(kind);
        let floats = floats(kind);
        let numbers = [i64::MIN, i64::MAX, 0, -1];
        let mut sent = Vec::new();
        let mut expected_reals = Vec::new();
        for (i, text) in strings.iter().enumerate() {
            expected_reals.push(floats[i % floats.len()]);
            let order = Order::factory()
                .with_session(&mut *conn)
                .text(text.clone())
                .who(strings[(i + 1) % strings.len()].clone())
                .number(numbers[i % numbers.len()])
                .real(floats[i % floats.len()])
                .maybe(Some(text.clone()))
                .create()
                .await
                .unwrap();
            sent.push(order);
        }
        for (i, real) in floats.iter().enumerate() {
            expected_reals.push(*real);
            let order = Order::factory()
                .with_session(&mut *conn)
                .real(*real)
                .number(numbers[i % numbers.len()])
                .maybe(None)
                .create()
                .await
                .unwrap();
            sent.push(order);
        }
        // A batch of the same values goes through the multi-row path too.
        let batch = Order::factory().with_session(&mut *conn).text(strings[1].clone()).number(i64::MIN).create_batch(3).await.unwrap();
        sent.extend(batch);

        let stored: Vec<Order> = sqlx::query_as(sqlx::AssertSqlSafe(select(kind))).fetch_all(&mut *conn).await.unwrap();
        assert_eq!(stored.len(), sent.len());
        for (returned, stored) in sent.iter().zip(&stored) {
            assert!(same(returned, stored), "returned {returned:?}\nstored   {stored:?}");
        }
        for (i, text) in strings.iter().enumerate() {
            assert_eq!(&stored[i].text, text, "string {i} round-trips");
            assert_eq!(stored[i].maybe.as_ref(), Some(text));
        }
        for (stored, real) in stored.iter().zip(&expected_reals) {
            let bits_equal = stored.real.to_bits() == real.to_bits() || stored.real.is_nan() && real.is_nan();
            assert!(bits_equal, "{real:?} came back as {:?}", stored.real);
        }
    }
}

/// `len` chars drawn from every Unicode scalar value (NUL included), or only the printable ones.
fn random_string(rng: &mut StdRng, printable: bool) -> String {
    let len = rng.random_range(0..24);
    std::iter::repeat_with(|| rng.random::<char>())
        .filter(|c| !printable || !c.is_control())
        .take(len)
        .collect()
}

/// Any string (NUL and all), any integer, any non-NaN float (every bit pattern but NaN and
/// -0.0, which SQLite stores as NULL and 0), present or absent: what goes in comes back, on
/// SQLite. 64 cases from a fixed seed; a failure prints the case's values.
#[tokio::test]
async fn any_value_round_trips_on_sqlite() {
    common::bounded_test(async {
        let mut rng = StdRng::seed_from_u64(0x5eed_fa11);
        let mut conn = common::sqlite().await;
        exec!(&mut conn, ddl(Kind::Sqlite));
        for case in 0..64 {
            let text = random_string(&mut rng, false);
            let who = random_string(&mut rng, true);
            let number = match case {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => rng.random::<i64>(),
            };
            let real = loop {
                let f = f64::from_bits(rng.random::<u64>());
                if !f.is_nan() && f.to_bits() != (-0.0f64).to_bits() {
                    break f;
                }
            };
            let maybe = rng.random_bool(0.5).then(|| random_string(&mut rng, false));
            exec!(&mut conn, "DELETE FROM \"order\"".to_string());
            let created = Order::factory()
                .with_session(&mut conn)
                .text(text.clone())
                .who(who.clone())
                .number(number)
                .real(real)
                .maybe(maybe.clone())
                .create()
                .await
                .unwrap();
            let stored: Order = sqlx::query_as(sqlx::AssertSqlSafe(select(Kind::Sqlite)))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let expected = Order {
                id: created.id,
                text,
                who,
                number,
                real,
                maybe,
            };
            assert!(
                same(&created, &expected),
                "case {case}: {created:?} != {expected:?}"
            );
            assert!(
                same(&stored, &expected),
                "case {case}: {stored:?} != {expected:?}"
            );
        }
    })
    .await
}

on_every_backend! {
    /// The schema check on the table these tests create, whose names are keywords and whose
    /// values are hostile: no error for a model whose creates succeed there.
    async fn check_every_model(conn, kind) {
        exec!(conn, ddl(kind));
        check_clean!(&mut *conn, kind, Order);
    }
}
