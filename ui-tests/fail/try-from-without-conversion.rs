use sqlx_factory::Factory;

#[derive(Debug, Clone)]
struct Slug(String);

impl From<String> for Slug {
    fn from(text: String) -> Self {
        Slug(text)
    }
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    // Decoded from `String`, but there is no way back: no `From<Slug> for String`.
    #[sqlx(try_from = "String")]
    #[factory(default = Slug("post-1".into()))]
    slug: Slug,
}

fn main() {}
