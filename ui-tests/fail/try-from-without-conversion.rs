use sqlx_factory::Factory;

/// A view count decoded from `i64`, with no way back.
#[derive(Debug, Clone)]
struct Views(u32);

impl From<i64> for Views {
    fn from(n: i64) -> Self {
        Views(n as u32)
    }
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    // Decoded from `i64`, but there is no `From<Views> for i64` (or `TryFrom`) to bind it back.
    #[sqlx(try_from = "i64")]
    #[factory(default = Views(0))]
    views: Views,
}

fn main() {}
