//! `references = <field>` resolved at compile time: the name's hash when the parent has that
//! column field, else the message a child's derive panics with (in a `const`, so it is one
//! error under the user's name, naming the parent's fields, and nothing private).

use crate::cycle::{Message, eq};
use crate::model::Model;

/// A field name as a number, FNV-1a of its text: the parameter of the parent's `Reference`
/// impls. The derive hashes the same way (`refs::name_hash`).
pub const fn name_hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The hash of `name` when it is a column field of `P`, else why not.
// Only ever evaluated by the compiler (in a `const`), where a large `Err` costs nothing and a
// `Box` cannot be made.
#[allow(clippy::result_large_err)]
pub const fn reference_hash<P: Model>(name: &str) -> Result<u64, Message> {
    let fields = P::REFERABLE;
    let mut i = 0;
    while i < fields.len() {
        if eq(fields[i], name) {
            return Ok(name_hash(name));
        }
        i += 1;
    }
    let mut message = Message::EMPTY;
    message.push("`");
    message.push(model_name(P::FACTORY));
    message.push("` has no column field `");
    message.push(name);
    message.push("` to reference");
    // The closest name, as a misspelled factory attribute is answered.
    let mut best: Option<&str> = None;
    let mut best_distance = 3;
    let mut i = 0;
    while i < fields.len() {
        let distance = edit_distance(name.as_bytes(), fields[i].as_bytes());
        if distance < best_distance {
            best = Some(fields[i]);
            best_distance = distance;
        }
        i += 1;
    }
    if let Some(best) = best {
        message.push("; did you mean `");
        message.push(best);
        message.push("`?");
    } else if fields.is_empty() {
        message.push(", which has none");
    } else {
        message.push("; its column fields: ");
        let mut i = 0;
        while i < fields.len() {
            if i > 0 {
                message.push(", ");
            }
            message.push("`");
            message.push(fields[i]);
            message.push("`");
            i += 1;
        }
    }
    Err(message)
}

/// `UserFactory` → `User`.
const fn model_name(factory: &str) -> &str {
    let bytes = factory.as_bytes();
    let suffix = b"Factory".len();
    if bytes.len() < suffix {
        return factory;
    }
    match core::str::from_utf8(bytes.split_at(bytes.len() - suffix).0) {
        Ok(name) => name,
        Err(_) => factory,
    }
}

/// Levenshtein distance over bytes; names longer than 64 bytes are never close.
const fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    const MAX: usize = 64;
    if a.len() > MAX || b.len() > MAX {
        return usize::MAX;
    }
    let mut row = [0usize; MAX + 1];
    let mut j = 0;
    while j <= b.len() {
        row[j] = j;
        j += 1;
    }
    let mut i = 0;
    while i < a.len() {
        let mut previous = row[0];
        row[0] = i + 1;
        let mut j = 0;
        while j < b.len() {
            let current = row[j + 1];
            let substitute = previous + (a[i] != b[j]) as usize;
            let mut best = if row[j] + 1 < current + 1 {
                row[j] + 1
            } else {
                current + 1
            };
            if substitute < best {
                best = substitute;
            }
            row[j + 1] = best;
            previous = current;
            j += 1;
        }
        i += 1;
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_derive() {
        // FNV-1a of "email", as `refs::name_hash` computes it.
        let expected = "email".bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(name_hash("email"), expected);
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance(b"emial", b"email"), 2);
        assert_eq!(edit_distance(b"mail", b"email"), 1);
        assert_eq!(edit_distance(b"", b"id"), 2);
        assert_eq!(edit_distance(b"name", b"email"), 4);
    }
}
