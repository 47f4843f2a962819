use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "teams")]
struct Team {
    #[factory(primary_key)]
    id: i64,
    #[factory(required)]
    name: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "players")]
struct Player {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Team)]
    team_id: i64,
}

fn main() {}
