#!/usr/bin/env python3
"""Compile time of #[derive(Factory)]: a crate of 50 derived models against the same 50 models
with hand-written builders (Option fields, setters, build() with the same fake calls).

    python3 benches/compile_time.py          # prints both times and the ratio

Both crates live under target/compile-time/, share one target dir and the same dependencies;
each is built once to warm the dependencies, then rebuilt 3 times after touching its source,
and the median of those rebuilds is reported.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "compile-time"
MODELS = 50
REBUILDS = 3

FIELDS = [
    ("id", "i64", "#[factory(primary_key)]", "Faker.fake_with_rng(rng)"),
    ("email", "String", '#[factory(sequence = |n| format!("u{n}@example.com"))]', 'format!("u{n}@example.com")'),
    ("name", "String", "#[factory(fake = Name())]", "Name().fake_with_rng(rng)"),
    ("age", "i32", "#[factory(default = 30)]", "30"),
    ("bio", "Option<String>", "", "Faker.fake_with_rng(rng)"),
    ("score", "f64", "", "Faker.fake_with_rng(rng)"),
]

HEADER = """#![allow(dead_code, unused_imports)]\nuse fake::faker::name::en::Name;\nuse fake::{Fake, Faker};\n"""


def derived(i):
    fields = "\n".join(f"    {attr}\n    pub {name}: {ty}," for name, ty, attr, _ in FIELDS)
    return f"""
#[derive(Debug, Clone, sqlx::FromRow, sqlx_factory::Factory)]
#[factory(table = "model_{i}")]
pub struct Model{i} {{
{fields}
}}
"""


def hand_written(i):
    fields = "\n".join(f"    pub {name}: {ty}," for name, ty, _, _ in FIELDS)
    options = "\n".join(f"    {name}: Option<{ty}>," for name, ty, _, _ in FIELDS)
    setters = "\n".join(
        f"    pub fn {name}(mut self, v: impl Into<{ty}>) -> Self {{ self.{name} = Some(v.into()); self }}"
        for name, ty, _, _ in FIELDS
    )
    values = "\n".join(
        f"            {name}: self.{name}.clone().unwrap_or_else(|| {expr}),"
        for name, _, _, expr in FIELDS
    )
    return f"""
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Model{i} {{
{fields}
}}

#[derive(Default)]
pub struct Model{i}Builder {{
{options}
}}

impl Model{i}Builder {{
{setters}
    pub fn build(&self, n: u64, rng: &mut impl fake::RngExt) -> Model{i} {{
        let _ = n;
        Model{i} {{
{values}
        }}
    }}
}}
"""


def plain(i):
    fields = "\n".join(f"    pub {name}: {ty}," for name, ty, _, _ in FIELDS)
    return f"""
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Model{i} {{
{fields}
}}
"""


def write_crate(name, body):
    crate = WORK / name
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
sqlx-factory = {{ path = "{ROOT}" }}
sqlx = {{ version = "0.9", default-features = false, features = ["derive", "sqlite"] }}
fake = "5"
"""
    )
    (crate / "src" / "lib.rs").write_text(HEADER + "".join(body(i) for i in range(MODELS)))
    return crate


def build(crate):
    env = dict(os.environ, CARGO_TARGET_DIR=str(WORK / "target"))
    subprocess.run(["cargo", "build", "--quiet"], cwd=crate, env=env, check=True)


def rebuild_times(crate):
    times = []
    for _ in range(REBUILDS):
        (crate / "src" / "lib.rs").touch()
        start = time.perf_counter()
        build(crate)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    crates = {}
    for name, body in [("derive", derived), ("hand", hand_written), ("plain", plain)]:
        shutil.rmtree(WORK / name, ignore_errors=True)
        crates[name] = write_crate(name, body)
    for crate in crates.values():
        build(crate)  # dependencies, once
    results = {name: rebuild_times(crate) for name, crate in crates.items()}
    print(f"{MODELS} models, cargo build (debug) of the crate alone, median of {REBUILDS}:")
    print(f"  #[derive(Factory)]     {results['derive']:.2f} s")
    print(f"  hand-written builders  {results['hand']:.2f} s")
    print(f"  FromRow only           {results['plain']:.2f} s")
    print(f"  ratio derive / hand-written  {results['derive'] / results['hand']:.2f}")


if __name__ == "__main__":
    main()
