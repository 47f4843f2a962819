use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "invites")]
struct Invite {
    #[factory(required)]
    code: String,
    seats: i32,
}

fn main() {
    let _invite = Invite::factory().seats(3).build();
}
