#!/usr/bin/env python3
"""Compile time of #[derive(Factory)]: a crate of 50 derived models against the same 50 models
with hand-written builders (Option fields, setters, build() with the same fake calls).

    python3 benches/compile_time.py          # prints both times and the ratio

Both crates live under target/compile-time/, share one target dir and the same dependencies;
each is built once to warm the dependencies, then rebuilt 3 times after touching its source,
and the median of those rebuilds is reported, with the range (min-max) and the CPU time
(user + sys of the build, less disturbed than wall time when other builds share the machine).
`REBUILDS=9 python3 benches/compile_time.py` rebuilds more times.
"""

import os
import resource
import pathlib
import shutil
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "compile-time"
MODELS = 50
REBUILDS = int(os.environ.get("REBUILDS", "3"))

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


def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rebuild_times(crate):
    """Wall and CPU seconds of each rebuild."""
    walls, cpus = [], []
    for _ in range(REBUILDS):
        (crate / "src" / "lib.rs").touch()
        start, start_cpu = time.perf_counter(), cpu()
        build(crate)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu() - start_cpu)
    return walls, cpus


def spread(times):
    return f"{statistics.median(times):.2f} s  ({min(times):.2f}-{max(times):.2f})"


def main():
    crates = {}
    for name, body in [("derive", derived), ("hand", hand_written), ("plain", plain)]:
        shutil.rmtree(WORK / name, ignore_errors=True)
        crates[name] = write_crate(name, body)
    for crate in crates.values():
        build(crate)  # dependencies, once
    times = {name: rebuild_times(crate) for name, crate in crates.items()}
    wall = {name: statistics.median(w) for name, (w, _) in times.items()}
    cpu_time = {name: statistics.median(c) for name, (_, c) in times.items()}
    print(f"{MODELS} models, cargo build (debug) of the crate alone, median of {REBUILDS} (min-max):")
    for name, label in [("derive", "#[derive(Factory)]    "), ("hand", "hand-written builders "), ("plain", "FromRow only          ")]:
        print(f"  {label} {spread(times[name][0])}   cpu {spread(times[name][1])}")
    print(f"  ratio derive / hand-written  {wall['derive'] / wall['hand']:.2f}")
    per_model = (wall["derive"] - wall["plain"]) / MODELS * 1000
    per_model_cpu = (cpu_time["derive"] - cpu_time["plain"]) / MODELS * 1000
    print(f"  derive cost per model over FromRow  {per_model:.1f} ms (cpu {per_model_cpu:.1f} ms)")


if __name__ == "__main__":
    main()
