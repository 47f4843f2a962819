//! The models and the hand-written counterparts both benches compare.
#![allow(dead_code)] // each bench uses part of it

use fake::faker::lorem::en::Sentence;
use fake::faker::name::en::Name;
use fake::{Fake, Faker};
use sqlx_factory::Factory;

/// Six fields, values as a test would want them: a sequence, fakers, a random option.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "bench_users")]
pub struct User {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    pub email: String,
    #[factory(fake = Name())]
    pub name: String,
    #[factory(fake = 18..90)]
    pub age: i32,
    pub bio: Option<String>,
    #[factory(fake = 0.0..100.0)]
    pub score: f64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "bench_posts")]
pub struct Post {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = User)]
    pub author_id: i64,
    #[factory(fake = Sentence(3..6))]
    pub title: String,
}

/// The values a hand-written test draws for a user: the same fake calls the factory makes.
pub struct UserValues {
    pub email: String,
    pub name: String,
    pub age: i32,
    pub bio: Option<String>,
    pub score: f64,
}

pub fn user_values<R: fake::RngExt + ?Sized>(n: u64, rng: &mut R) -> UserValues {
    UserValues {
        email: format!("raw{n}@example.com"),
        name: Name().fake_with_rng(rng),
        age: (18..90).fake_with_rng(rng),
        bio: Faker.fake_with_rng(rng),
        score: (0.0..100.0).fake_with_rng(rng),
    }
}

/// A struct literal with the same fake calls: the reference for `build()`.
pub fn user_literal<R: fake::RngExt + ?Sized>(n: u64, rng: &mut R) -> User {
    let v = user_values(n, rng);
    User {
        id: Faker.fake_with_rng(rng),
        email: v.email,
        name: v.name,
        age: v.age,
        bio: v.bio,
        score: v.score,
    }
}

pub fn title<R: fake::RngExt + ?Sized>(rng: &mut R) -> String {
    Sentence(3..6).fake_with_rng(rng)
}

/// The URL in `var`, or `None` after saying that backend is skipped (a bench, unlike a test,
/// measures what it can reach).
pub fn url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("# {var} is not set: that backend is skipped");
            None
        }
    }
}
