//! Criterion: `build()` of a six-field model against a struct literal with the same fake calls.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_6_fields");
    group.bench_function("factory", |b| {
        b.iter(|| black_box(common::User::factory().build()))
    });
    let mut n = 0u64;
    let mut rng = fake::rand::rng();
    group.bench_function("struct_literal", |b| {
        b.iter(|| {
            n += 1;
            black_box(common::user_literal(n, &mut rng))
        })
    });
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
