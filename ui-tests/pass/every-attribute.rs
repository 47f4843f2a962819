use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "app.accounts")]
#[sqlx(rename_all = "camelCase")]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(generated)]
    created_at: String,
    #[factory(default = 7)]
    level: i32,
    #[factory(fake = fake::faker::internet::en::SafeEmail())]
    email: String,
    #[factory(sequence = |n| format!("acct-{n}"))]
    handle: String,
    #[factory(column = "display")]
    display_name: String,
    #[sqlx(rename = "r#type")]
    kind: String,
    #[factory(skip)]
    #[sqlx(skip)]
    cached: Vec<u8>,
    note: Option<String>,
}

fn main() {
    let a = Account::factory().kind("admin").build();
    assert_eq!((a.level, a.kind.as_str()), (7, "admin"));
    assert!(a.email.contains('@') && a.handle.starts_with("acct-") && a.cached.is_empty());
}
