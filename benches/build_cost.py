#!/usr/bin/env python3
"""What a model costs to build: a crate of N models, each created on PostgreSQL and built once
(as a test file does), with `#[derive(Factory)]` against the same models with `sqlx::FromRow`
and hand-written INSERTs.

    python3 benches/build_cost.py            # 10 and 50 models, median of 5 alternated runs
    RUNS=9 MODELS=10 python3 benches/build_cost.py

Both crates live under target/build-cost/ in one workspace with one target dir; the
dependencies are built first. Each measurement then rebuilds only the model crate from clean
(`cargo clean -p`), with `CARGO_INCREMENTAL=0` as a CI build has it, for `cargo build` and
`cargo check`. Runs alternate between the two crates so that a change in the machine's speed
falls on both. The ratio factory / hand-written is what to compare between commits; the CPU
seconds (user + system of cargo and rustc) move less than the wall seconds on a shared
machine.
"""

import os
import pathlib
import resource
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "build-cost"
RUNS = int(os.environ.get("RUNS", "5"))
SIZES = [int(n) for n in os.environ.get("MODELS", "10,50").split(",")]

HEADER = """#![allow(dead_code, unused_imports, clippy::all)]
use fake::faker::internet::en::SafeEmail;
use fake::faker::name::en::Name;
use fake::{Fake, Faker};
"""


def factory_model(i):
    parent = (
        f"    #[factory(association = Model{i - 1})]\n    pub parent_id: i64,\n" if i > 0 else ""
    )
    return f"""
#[derive(Debug, Clone, sqlx::FromRow, sqlx_factory::Factory)]
#[factory(table = "model_{i}")]
pub struct Model{i} {{
    #[factory(primary_key)]
    pub id: i64,
{parent}    #[factory(fake = Name())]
    pub name: String,
    #[factory(sequence = |n| format!("u{{n}}@example.com"))]
    pub email: String,
    #[factory(default = 30)]
    pub age: i32,
    pub bio: Option<String>,
}}
"""


def factory_use(n):
    lines = []
    for i in range(n):
        lines.append(f"    let m{i} = Model{i}::factory().with_session(&mut *conn).create().await?;")
        lines.append(f"    let _ = Model{i}::factory().build();")
    body = "\n".join(lines)
    return f"""
pub async fn use_all(conn: &mut sqlx::PgConnection) -> Result<(), Box<dyn std::error::Error>> {{
{body}
    Ok(())
}}
"""


def hand_model(i):
    parent_field = "    pub parent_id: i64,\n" if i > 0 else ""
    parent_col = ", parent_id" if i > 0 else ""
    parent_ph = ", $5" if i > 0 else ""
    parent_bind = "\n        .bind(row.parent_id)" if i > 0 else ""
    parent_build = "        parent_id: 0,\n" if i > 0 else ""
    return f"""
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Model{i} {{
    pub id: i64,
{parent_field}    pub name: String,
    pub email: String,
    pub age: i32,
    pub bio: Option<String>,
}}

impl Model{i} {{
    pub fn build(n: u64) -> Self {{
        Model{i} {{
            id: 0,
{parent_build}            name: Name().fake(),
            email: format!("u{{n}}@example.com"),
            age: 30,
            bio: Faker.fake(),
        }}
    }}

    pub async fn insert(row: &Self, conn: &mut sqlx::PgConnection) -> Result<Self, sqlx::Error> {{
        sqlx::query_as(
            "INSERT INTO model_{i} (name, email, age, bio{parent_col}) VALUES ($1, $2, $3, $4{parent_ph}) \\
             RETURNING id{parent_col}, name, email, age, bio",
        )
        .bind(&row.name)
        .bind(&row.email)
        .bind(row.age)
        .bind(&row.bio){parent_bind}
        .fetch_one(&mut *conn)
        .await
    }}
}}
"""


def hand_use(n):
    lines = []
    for i in range(n):
        if i > 0:
            lines.append(f"    let mut r{i} = Model{i}::build({i});")
            lines.append(f"    r{i}.parent_id = m{i - 1}.id;")
            lines.append(f"    let m{i} = Model{i}::insert(&r{i}, conn).await?;")
        else:
            lines.append(f"    let m{i} = Model{i}::insert(&Model{i}::build({i}), conn).await?;")
        lines.append(f"    let _ = Model{i}::build({i});")
    body = "\n".join(lines)
    return f"""
pub async fn use_all(conn: &mut sqlx::PgConnection) -> Result<(), Box<dyn std::error::Error>> {{
{body}
    Ok(())
}}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(n):
    sqlx = '{ version = "0.9", default-features = false, features = ["postgres", "runtime-tokio", "derive", "macros"] }'
    fake = '{ version = "5", features = ["derive"] }'
    factory = f'{{ path = "{ROOT}", default-features = false, features = ["postgres"] }}'
    write(
        WORK / "Cargo.toml",
        '[workspace]\nresolver = "2"\nmembers = ["factory_models", "hand_models"]\n',
    )
    write(
        WORK / "factory_models" / "Cargo.toml",
        f'[package]\nname = "factory_models"\nversion = "0.0.0"\nedition = "2024"\n\n'
        f"[dependencies]\nsqlx = {sqlx}\nfake = {fake}\nsqlx-factory = {factory}\n",
    )
    write(
        WORK / "hand_models" / "Cargo.toml",
        f'[package]\nname = "hand_models"\nversion = "0.0.0"\nedition = "2024"\n\n'
        f"[dependencies]\nsqlx = {sqlx}\nfake = {fake}\n",
    )
    write(
        WORK / "factory_models" / "src" / "lib.rs",
        HEADER + "".join(factory_model(i) for i in range(n)) + factory_use(n),
    )
    write(
        WORK / "hand_models" / "src" / "lib.rs",
        HEADER + "".join(hand_model(i) for i in range(n)) + hand_use(n),
    )


def cargo(*args, check=True):
    env = dict(os.environ, CARGO_INCREMENTAL="0", CARGO_TERM_COLOR="never")
    env.pop("CARGO_TARGET_DIR", None)
    return subprocess.run(
        ["cargo", *args, "--quiet"], cwd=WORK, env=env, check=check, capture_output=True, text=True
    )


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, crate):
    """Wall and CPU seconds (cargo and rustc, user + system) of one clean rebuild."""
    cargo("clean", "-p", crate)
    start, cpu = time.perf_counter(), cpu_seconds()
    result = cargo(command, "-p", crate, check=False)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if result.returncode != 0:
        raise SystemExit(f"cargo {command} -p {crate} failed:\n{result.stderr}")
    return elapsed, cpu


def main():
    print(f"build cost of a model crate: median of {RUNS} alternated clean rebuilds, CARGO_INCREMENTAL=0")
    for n in SIZES:
        setup(n)
        # The dependencies, once, for both commands.
        for command in ("build", "check"):
            for crate in ("hand_models", "factory_models"):
                cargo(command, "-p", crate)
        for command in ("build", "check"):
            times = {"hand_models": [], "factory_models": []}
            cpus = {"hand_models": [], "factory_models": []}
            for _ in range(RUNS):
                for crate in ("hand_models", "factory_models"):
                    wall, cpu = timed(command, crate)
                    times[crate].append(wall)
                    cpus[crate].append(cpu)
            hand = statistics.median(times["hand_models"])
            fact = statistics.median(times["factory_models"])
            hand_cpu = statistics.median(cpus["hand_models"])
            fact_cpu = statistics.median(cpus["factory_models"])
            print(
                f"{n:3} models  cargo {command:5}  hand-written {hand:5.2f} s "
                f"({min(times['hand_models']):.2f}-{max(times['hand_models']):.2f})  "
                f"factory {fact:5.2f} s ({min(times['factory_models']):.2f}-"
                f"{max(times['factory_models']):.2f})  ratio {fact / hand:4.2f}  "
                f"CPU {hand_cpu:5.2f} s / {fact_cpu:5.2f} s, ratio {fact_cpu / hand_cpu:4.2f}"
            )


if __name__ == "__main__":
    main()
