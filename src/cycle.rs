//! Reference cycles between models, found at compile time.
//!
//! A derive sees one struct, so the graph is walked in `const`s: each model's
//! [`Association`](crate::model::Association) impl carries `REACH1..=REACH5`, the paths of up
//! to that many associations that start at it, built from its parents' level below (never its
//! own level, so a cycle is no `const` evaluation cycle). A child whose parent's `REACH5` comes
//! back to the child is on a cycle of at most [`DEPTH`] tables. Two uses:
//! - the child's `Insert` impl needs its parent through `InsertParent<DB, ON_CYCLE>`, whose
//!   `true` impl has no bound, so the cycle of `Insert` bounds is cut and rustc never reports
//!   `E0275 overflow` (type checking runs before `const`s are evaluated: its error would be
//!   the only one);
//! - the member of the cycle whose name sorts first panics in a `const _` with the path,
//!   which is the one error.

/// The most tables a cycle may have to be found; a longer one still gives rustc's `E0275`.
pub const DEPTH: usize = 6;
/// The most models one model's reach records; those beyond are not followed.
const WIDTH: usize = 32;

/// One association: the child's field and the parent's path (`module_path!()::Name`).
#[derive(Clone, Copy)]
pub struct Edge {
    field: &'static str,
    to: &'static str,
}

/// A chain of associations from a model, `edges[..len]`.
#[derive(Clone, Copy)]
pub struct Path {
    edges: [Edge; DEPTH],
    len: usize,
}

/// The models reachable from a model through its associations, one (shortest) path each.
#[derive(Clone, Copy)]
pub struct Reach {
    paths: [Path; WIDTH],
    len: usize,
}

/// A model's association, with its parent's reach one level below: what a level is made of.
pub struct Parent<'a> {
    /// The child's field.
    pub field: &'static str,
    /// The parent's path, `Association::PATH`.
    pub to: &'static str,
    /// The parent's reach, one level below the one being made.
    pub reach: &'a Reach,
}

const NO_EDGE: Edge = Edge { field: "", to: "" };
const NO_PATH: Path = Path {
    edges: [NO_EDGE; DEPTH],
    len: 0,
};

impl Reach {
    /// Level 0: nothing.
    pub const EMPTY: Reach = Reach {
        paths: [NO_PATH; WIDTH],
        len: 0,
    };

    /// The next level of a model whose associations are `parents`: each parent, then each
    /// path of the parent's level behind it; shorter paths first, one path per model reached.
    pub const fn step(parents: &[Parent<'_>]) -> Reach {
        let mut out = Reach::EMPTY;
        let mut len = 1;
        while len < DEPTH {
            let mut p = 0;
            while p < parents.len() {
                let parent = &parents[p];
                let head = Edge {
                    field: parent.field,
                    to: parent.to,
                };
                if len == 1 {
                    let mut path = NO_PATH;
                    path.edges[0] = head;
                    path.len = 1;
                    out.add(path);
                } else {
                    let mut i = 0;
                    while i < parent.reach.len {
                        let tail = &parent.reach.paths[i];
                        if tail.len == len - 1 {
                            let mut path = NO_PATH;
                            path.edges[0] = head;
                            let mut j = 0;
                            while j < tail.len {
                                path.edges[j + 1] = tail.edges[j];
                                j += 1;
                            }
                            path.len = len;
                            out.add(path);
                        }
                        i += 1;
                    }
                }
                p += 1;
            }
            len += 1;
        }
        out
    }

    const fn add(&mut self, path: Path) {
        let to = path.edges[path.len - 1].to;
        let mut i = 0;
        while i < self.len {
            let known = &self.paths[i];
            if eq(known.edges[known.len - 1].to, to) {
                return;
            }
            i += 1;
        }
        if self.len < WIDTH {
            self.paths[self.len] = path;
            self.len += 1;
        }
    }

    /// The path from this reach (a parent's) back to `model`, if any.
    const fn back_to(&self, model: &str) -> Option<&Path> {
        let mut i = 0;
        while i < self.len {
            let path = &self.paths[i];
            if eq(path.edges[path.len - 1].to, model) {
                return Some(path);
            }
            i += 1;
        }
        None
    }
}

/// Whether `model`'s association to the parent whose reach is `reach` closes a cycle: then the
/// association's `InsertParent` bound is cut (see the module docs).
pub const fn on_cycle(reach: &Reach, model: &str) -> bool {
    reach.back_to(model).is_some()
}

/// The error text of a cycle through `model.field -> parent`, when `model` is the one to
/// report it (its name sorts first on the cycle, so the cycle is reported once).
pub const fn cycle_error(reach: &Reach, model: &str, field: &str, parent: &str) -> Message {
    let mut message = Message::EMPTY;
    let Some(path) = reach.back_to(model) else {
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
