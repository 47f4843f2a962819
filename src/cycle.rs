//! Reference cycles between models, found at compile time.
//!
//! A derive sees one struct, so the graph is walked in `const`s: each model's
//! [`Association`](crate::model::Association) impl carries `LINKS1..=LINKS5`, its
//! associations, each linked to its parent's level below (never its own level, so a cycle is
//! no `const` evaluation cycle): level `n` holds the chains of up to `n` associations that
//! start at the model. A level is a few words per association; the graph is searched only
//! where a child asks whether its parent's `LINKS5` comes back to it, a cycle of at most
//! [`DEPTH`] tables, breadth first, each model once: the answer is the graph's, the same for
//! every model of a cycle, which the report below relies on. Two uses:
//! - the child's `Insert` impl needs its parent through `InsertParent<DB, ON_CYCLE>`, whose
//!   `true` impl has no bound, so the cycle of `Insert` bounds is cut and rustc never reports
//!   `E0275 overflow` (type checking runs before `const`s are evaluated: its error would be
//!   the only one);
//! - the member of the cycle whose name sorts first panics in a `const _` with the path,
//!   which is the one error.

/// The most tables a cycle may have to be found; a longer one still gives rustc's `E0275`.
pub const DEPTH: usize = 6;
/// The most models one search records (each once, at its shortest distance): a graph with
/// more models within `DEPTH - 2` associations of one parent is reported at the derive rather
/// than searched in part (a part search can find a cycle from one of its models and not from
/// another, and such a program compiled with a cycle no `const` reported).
const MODELS: usize = 512;

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

/// A model the search reached: the link it was first reached by (so at its shortest distance,
/// with the most levels below) and the index of the model that link starts at.
#[derive(Clone, Copy)]
struct Reached {
    link: &'static Link,
    from: usize,
}

/// What a search found.
enum Found {
    /// The shortest chain back to the model.
    Cycle(Path),
    /// No chain of at most `DEPTH - 1` links comes back.
    None,
    /// More than [`MODELS`] models were reached: the answer is unknown.
    TooWide,
}

/// `from` of a model reached by one of the parent's own links.
const ROOT: usize = usize::MAX;

/// A breadth-first search from the parent whose level is `links` (its `LINKS5`) for `model`:
/// each model is followed once, from where it is first reached, so the cost is the graph's
/// size, not its number of chains, and the answer does not depend on the graph's width (every
/// model of a cycle finds it, so one of them reports it). The chain found is a shortest one,
/// the first in the associations' order.
const fn search(links: &'static [Link], model: &str) -> Found {
    let mut reached: [Option<Reached>; MODELS] = [None; MODELS];
    let mut len = 0;
    // The models at the distance being followed, `reached[level_start..level_end]`; the
    // parent's own links are followed first (`ROOT`).
    let mut level_start = 0;
    let mut level_end = 0;
    let mut distance = 1;
    while distance < DEPTH {
        let mut node = if distance == 1 { ROOT } else { level_start };
        loop {
            let (from_links, from) = if node == ROOT {
                (links, ROOT)
            } else if node < level_end {
                match reached[node] {
                    Some(r) => (r.link.next, node),
                    None => break,
                }
            } else {
                break;
            };
            let mut i = 0;
            while i < from_links.len() {
                let link = &from_links[i];
                if eq(link.to, model) {
                    return Found::Cycle(Path::of(&reached, Reached { link, from }));
                }
                // The last distance only compares: its models' levels are empty.
                if distance + 1 < DEPTH && !seen(&reached, len, link.to) {
                    if len == MODELS {
                        return Found::TooWide;
                    }
                    reached[len] = Some(Reached { link, from });
                    len += 1;
                }
                i += 1;
            }
            if node == ROOT {
                break;
            }
            node += 1;
        }
        level_start = level_end;
        level_end = len;
        distance += 1;
    }
    Found::None
}

/// Whether a model of path `to` is among the first `len` reached.
const fn seen(reached: &[Option<Reached>; MODELS], len: usize, to: &str) -> bool {
    let mut i = 0;
    while i < len {
        if let Some(r) = reached[i]
            && eq(r.link.to, to)
        {
            return true;
        }
        i += 1;
    }
    false
}

impl Path {
    /// The chain from the parent to `last`'s end, through the models `last` was reached by.
    const fn of(reached: &[Option<Reached>; MODELS], last: Reached) -> Path {
        let mut back = [NO_EDGE; DEPTH];
        let mut len = 0;
        let mut at = Some(last);
        while let Some(r) = at {
            back[len] = Edge {
                field: r.link.field,
                to: r.link.to,
            };
            len += 1;
            at = if r.from == ROOT {
                None
            } else {
                reached[r.from]
            };
        }
        let mut path = Path {
            edges: [NO_EDGE; DEPTH],
            len,
        };
        let mut i = 0;
        while i < len {
            path.edges[i] = back[len - 1 - i];
            i += 1;
        }
        path
    }
}

/// What the search from an association's parent found, as the derive keeps it
/// ([`CycleSearch`]): the graph is searched once per association, and its `InsertParent`
/// bound, its parent step and its check read the answer.
#[derive(Clone, Copy)]
pub enum Reach {
    /// No chain of the parent's comes back to the model.
    None,
    /// The association closes a cycle.
    Cycle,
    /// The search could not tell: more than 512 models within reach (`MODELS`).
    TooWide,
}

impl Reach {
    /// Whether the association closes a cycle: then its `InsertParent` bound is cut (see the
    /// module docs).
    pub const fn on_cycle(self) -> bool {
        matches!(self, Reach::Cycle)
    }

    /// Whether the association may have an error to report: it closes a cycle, or the search
    /// could not tell (then the bound stays and the error is [`cycle_error`]'s, never a program
    /// that compiles with a cycle).
    pub const fn to_report(self) -> bool {
        !matches!(self, Reach::None)
    }
}

/// What the search from an association's parent found, kept by the derive on the field's marker
/// type (a type of the model's hidden fields module): read by the association's bound, its
/// parent step and its check.
pub trait CycleSearch {
    /// See [`reach`].
    const FOUND: Reach;
}

/// What a search from the parent whose level is `links` (its `LINKS5`) finds of `model`.
pub const fn reach(links: &'static [Link], model: &str) -> Reach {
    match search(links, model) {
        Found::Cycle(_) => Reach::Cycle,
        Found::None => Reach::None,
        Found::TooWide => Reach::TooWide,
    }
}

/// The error text of a cycle through `model.field -> parent`, when `model` is the one to
/// report it (its name sorts first on the cycle, so the cycle is reported once).
pub const fn cycle_error(
    links: &'static [Link],
    model: &str,
    field: &str,
    parent: &str,
) -> Message {
    let mut message = Message::EMPTY;
    let path = match search(links, model) {
        Found::Cycle(path) => path,
        Found::None => return message,
        Found::TooWide => {
            message.push_field(model, field);
            message.push(" -> `");
            message.push(short(parent));
            message.push("`: more models are within 4 associations of `");
            message.push(short(parent));
            // The number in the text is `MODELS`.
            const _: () = assert!(MODELS == 512);
            message.push(
                "` than the cycle check follows (512), so it cannot tell whether this association \
                 closes a cycle; split the models over fewer associations",
            );
            return message;
        }
    };
    if eq(model, parent) {
        // A self-reference written as a path (`crate::Node`): one error, in this form.
        message.push_field(model, field);
        message.push(" points at `");
        message.push(short(model));
        message.push("` itself: write the association as the model's bare name, `association = ");
        message.push(short(model));
        message.push("`, for a self-reference (its key an `Option<..>`)");
        return message;
    }
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
    message.push_field(model, field);
    message.push(" -> ");
    let mut from = parent;
    let mut i = 0;
    while i < path.len {
        message.push_field(from, path.edges[i].field);
        message.push(" -> ");
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

    /// `` `Model.field` ``, the model's path shortened to its name.
    const fn push_field(&mut self, model: &str, field: &str) {
        self.push("`");
        self.push(short(model));
        self.push(".");
        self.push(field);
        self.push("`");
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

/// `a::b::Name#12:1` -> `Name`: paths are compared, names are shown.
const fn short(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut end = 0;
    while end < bytes.len() && bytes[end] != b'#' {
        end += 1;
    }
    let (bytes, _) = bytes.split_at(end);
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

/// `a == b`, compared from the end: two paths of one module differ in their names, so most
/// comparisons of the search end at the first byte read.
pub(crate) const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = a.len();
    while i > 0 {
        i -= 1;
        if a[i] != b[i] {
            return false;
        }
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
