//! Every `#[derive(Factory)]` model of the tests and examples goes through `check!`: each file
//! names its models in a `check!`, `check_clean!` or `check_finds!` (tests/common/mod.rs) on the
//! tables its tests create, so a new model nobody checks fails here, by name.
//!
//! A model of a module under `tests/common/` counts as checked when any test file names it (the
//! files that include the module share it); a model whose name a macro makes (`struct $name`)
//! counts when the file calls `check!` on what that macro defines, which this scan cannot see:
//! it lists them, so a reader can.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The text inside the bracket `opening` at `open`, up to its `closing`, nesting counted.
fn enclosed(text: &str, open: usize, opening: char, closing: char) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        if c == opening {
            depth += 1;
        } else if c == closing {
            depth -= 1;
            if depth == 0 {
                return &text[open + 1..open + i];
            }
        }
    }
    &text[open + 1..]
}

fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
}

/// The structs a `#[derive(.., Factory, ..)]` is on, in file order, but `#[factory(flatten)]`
/// groups.
fn models(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("#[derive(") {
        let open = at + found + "#[derive".len();
        let derives = enclosed(text, open, '(', ')');
        at = open + derives.len();
        if !identifiers(derives).any(|w| w == "Factory") {
            continue;
        }
        let after = &text[at..];
        let Some(start) = after.find("struct ") else {
            continue;
        };
        // A `#[factory(flatten)]` group has no table: it is checked as part of each model that
        // includes it.
        if after[..start].contains("factory(flatten)") {
            continue;
        }
        if let Some(name) = identifiers(&after[start + "struct ".len()..]).next() {
            out.push(name.to_owned());
        }
    }
    out
}

/// The macros that check models: the three of `tests/common`, and each macro of `text` whose
/// body calls a checking macro (with the models its callers pass), to any depth.
fn checking_macros(text: &str) -> Vec<String> {
    let mut defined = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("macro_rules!") {
        let start = at + found + "macro_rules!".len();
        at = start;
        let (Some(name), Some(open)) = (
            identifiers(&text[start..]).next(),
            text[start..].find('{').map(|i| start + i),
        ) else {
            continue;
        };
        defined.push((name.to_owned(), enclosed(text, open, '{', '}')));
    }
    let mut out: Vec<String> = ["check", "check_clean", "check_finds"]
        .map(str::to_owned)
        .into();
    loop {
        let before = out.len();
        for (name, body) in &defined {
            if !out.contains(name) && out.iter().any(|m| body.contains(&format!("{m}!"))) {
                out.push(name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Every identifier named in the arguments of a call of a checking macro.
fn checked(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for name in checking_macros(text) {
        let call = format!("{name}!");
        let mut at = 0;
        while let Some(found) = text[at..].find(&call) {
            let after = at + found + call.len();
            at = after;
            // A whole name: `check!` is not the end of `recheck!`.
            let before = text[..at - call.len()].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &text[after..];
            let Some(open) = rest.find(|c: char| !c.is_whitespace()) else {
                continue;
            };
            let (open, close) = match rest[open..].chars().next() {
                Some('(') => (after + open, ')'),
                Some('{') => (after + open, '}'),
                Some('[') => (after + open, ']'),
                _ => continue,
            };
            let opening = text[open..].chars().next().unwrap_or('(');
            out.extend(identifiers(enclosed(text, open, opening, close)).map(str::to_owned));
        }
    }
    out
}

#[test]
fn every_model_of_the_tests_and_examples_is_checked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources(&root.join("tests"));
    files.extend(sources(&root.join("examples")));
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|path| {
            let name = path.strip_prefix(root).unwrap().display().to_string();
            (name, fs::read_to_string(path).unwrap())
        })
        .filter(|(name, _)| name != "tests/check_coverage.rs")
        .collect();
    let everywhere: BTreeSet<String> = texts.iter().flat_map(|(_, t)| checked(t)).collect();

    let mut total = 0;
    let mut unchecked = Vec::new();
    let mut made_by_macros = Vec::new();
    for (file, text) in &texts {
        // With the files it includes by `#[path]` (`common/round_trip.rs`): their macros'
        // `check!` checks the models this file hands them.
        let mut with_included = text.clone();
        for included in text.split("#[path = \"").skip(1) {
            let Some(end) = included.find('"') else {
                continue;
            };
            let dir = Path::new(file).parent().unwrap_or(Path::new(""));
            if let Ok(more) = fs::read_to_string(root.join(dir).join(&included[..end])) {
                with_included.push_str(&more);
            }
        }
        let here = checked(&with_included);
        let shared = file.starts_with("tests/common/");
        for model in models(text) {
            total += 1;
            if model.starts_with('$') {
                made_by_macros.push(format!("{file}: {model}"));
            } else if !(here.contains(&model) || shared && everywhere.contains(&model)) {
                unchecked.push(format!("{file}: {model}"));
            }
        }
    }
    // The scan itself: it sees models it must see, so an empty list is not a broken scan.
    assert!(total > 200, "only {total} models found: the scan is broken");
    assert!(
        models(&fs::read_to_string(root.join("tests/create.rs")).unwrap()).contains(&"User".into())
    );
    eprintln!(
        "{total} models; named by a macro (checked by the macro's own `check!`): {made_by_macros:?}"
    );
    assert!(
        unchecked.is_empty(),
        "{} of {total} models are in no `check!`/`check_clean!`/`check_finds!` of their file: \
         give each file's `check_every_model` test the new ones\n{}",
        unchecked.len(),
        unchecked.join("\n")
    );
}
