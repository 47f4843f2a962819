//! Reference cycles between models, found at compile time.
//!
//! A derive sees one struct, so the graph is walked in `const`s: each model's
//! [`Association`](crate::model::Association) impl carries `LINKS1..=LINKS5`, its
//! associations, each linked to its parent's level below (never its own level, so a cycle is
//! no `const` evaluation cycle): level `n` holds the chains of up to `n` associations that
//! start at the model. A level is a few words per association; the chains are walked only
//! where a child asks whether its parent's `LINKS5` comes back to it, a cycle of at most
//! [`DEPTH`] tables. Two uses:
//! - the child's `Insert` impl needs its parent through `InsertParent<DB, ON_CYCLE>`, whose
//!   `true` impl has no bound, so the cycle of `Insert` bounds is cut and rustc never reports
//!   `E0275 overflow` (type checking runs before `const`s are evaluated: its error would be
//!   the only one);
//! - the member of the cycle whose name sorts first panics in a `const _` with the path,
//!   which is the one error.

/// The most tables a cycle may have to be found; a longer one still gives rustc's `E0275`.
pub const DEPTH: usize = 6;
/// The most links one search follows; a graph so wide that the search stops first is not
/// followed further (a cycle found beyond it gives rustc's `E0275`).
const BUDGET: usize = 4096;

/// One association of a model, with its parent's associations one level below.
pub struct Link {
    /// The child's field.
    pub field: &'static str,
    /// The parent's path, `Association::PATH`.
    pub to: &'static str,
    /// The parent's level below the one this link belongs to.
    pub next: &'static [Link],
}

/// One association on a path: the child's field and the parent's path.
#[derive(Clone, Copy)]
struct Edge {
    field: &'static str,
    to: &'static str,
}

/// A chain of associations from a model, `edges[..len]`.
struct Path {
    edges: [Edge; DEPTH],
    len: usize,
}

const NO_EDGE: Edge = Edge { field: "", to: "" };

impl Path {
    /// The shortest chain from the model whose level is `links` back to `model` (the first in
    /// the associations' order among the shortest), if any within the links' depth.
    const fn back_to(links: &[Link], model: &str) -> Option<Path> {
        let mut path = Path {
            edges: [NO_EDGE; DEPTH],
            len: 0,
        };
        let mut budget = BUDGET;
        let mut depth = 1;
        while depth < DEPTH {
            if path.ends_at(links, model, depth, &mut budget) {
                return Some(path);
            }
            depth += 1;
        }
        None
    }

    /// Whether a chain of exactly `depth` more links from `links` ends at `model`: then the
    /// chain is written after the `len` edges already on the path.
    const fn ends_at(
        &mut self,
        links: &[Link],
        model: &str,
        depth: usize,
        budget: &mut usize,
    ) -> bool {
        let at = self.len;
        let mut i = 0;
        while i < links.len() {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let link = &links[i];
            self.edges[at] = Edge {
                field: link.field,
                to: link.to,
            };
            self.len = at + 1;
            let found = match depth {
                1 => eq(link.to, model),
                _ => self.ends_at(link.next, model, depth - 1, budget),
            };
            if found {
                return true;
            }
            i += 1;
        }
        self.len = at;
        false
    }
}

/// Whether `model`'s association to the parent whose level is `links` (its `LINKS5`) closes a
/// cycle: then the association's `InsertParent` bound is cut (see the module docs).
pub const fn on_cycle(links: &[Link], model: &str) -> bool {
    Path::back_to(links, model).is_some()
}

/// The error text of a cycle through `model.field -> parent`, when `model` is the one to
/// report it (its name sorts first on the cycle, so the cycle is reported once).
pub const fn cycle_error(links: &[Link], model: &str, field: &str, parent: &str) -> Message {
    let mut message = Message::EMPTY;
    let Some(path) = Path::back_to(links, model) else {
        return message;
    };
    if !less_eq(model, parent) {
        return message;
    }
    let mut i = 0;
    while i < path.len {
        if !less_eq(model, path.edges[i].to) {
            return message;
        }
        i += 1;
    }
    // The tables: `model`, `parent`, then the path's until it is back at `model`.
    message.push("`");
    message.push(short(model));
    let mut i = 0;
    while i < path.len {
        message.push(if i + 1 == path.len { "` and `" } else { "`, `" });
        message.push(short(if i == 0 { parent } else { path.edges[i - 1].to }));
        i += 1;
    }
    message.push(if path.len == 1 {
        "` reference each other ("
    } else {
        "` reference each other in a cycle ("
    });
    message.push("`");
    message.push(short(model));
    message.push(".");
    message.push(field);
    message.push("` -> ");
    let mut from = parent;
    let mut i = 0;
    while i < path.len {
        message.push("`");
        message.push(short(from));
        message.push(".");
        message.push(path.edges[i].field);
        message.push("` -> ");
        from = path.edges[i].to;
        i += 1;
    }
    message.push("`");
    message.push(short(model));
    message.push(if path.len == 1 {
        "`): a factory cannot create either row first. "
    } else {
        "`): a factory cannot create any of these rows first. "
    });
    message.push(if path.len == 1 {
        "On the side whose key is `Option<..>`, add `back_reference = <the other side's key field>`: \
         that row is inserted with NULL and its key set with an `UPDATE` once the other row exists"
    } else {
        "`back_reference` is for two tables that point at each other; here, on a key of the cycle \
         that is `Option<..>`, replace `association = ..` with `default = None` and set the key once \
         the rows exist"
    });
    message
}

/// An error text built in a `const` (a `const` cannot allocate).
pub struct Message {
    bytes: [u8; 1024],
    len: usize,
}

impl Message {
    pub(crate) const EMPTY: Message = Message {
        bytes: [0; 1024],
        len: 0,
    };

    /// Whether there is an error to report.
    pub const fn is_error(&self) -> bool {
        self.len > 0
    }

    /// The text, cut at a character boundary if it did not fit.
    pub const fn as_str(&self) -> &str {
        let mut len = self.len;
        loop {
            let (text, _) = self.bytes.split_at(len);
            if let Ok(text) = core::str::from_utf8(text) {
                return text;
            }
            len -= 1;
        }
    }

    pub(crate) const fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }
}

/// `a::b::Name` -> `Name`: paths are compared, names are shown.
const fn short(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut start = bytes.len();
    while start > 0 && bytes[start - 1] != b':' {
        start -= 1;
    }
    let (_, name) = bytes.split_at(start);
    match core::str::from_utf8(name) {
        Ok(name) => name,
        Err(_) => path,
    }
}

pub(crate) const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `a <= b`, byte-wise (as `str`'s `Ord`).
const fn less_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() <= b.len()
}
