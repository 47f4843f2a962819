//! A value as sqlx encodes it for a bind parameter, rewritten into the binary form of the
//! column a `COPY` writes it into, where the two differ only in a header.

/// A column's type as the server stores it (a domain's base type, through domains over
/// domains), and its element type when it is an array (else 0), the base type of a domain
/// element too (an array of a domain over `json` takes `json` elements).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PgColumn {
    pub(crate) oid: u32,
    pub(crate) elem: u32,
    /// The element type is text in the server's own sense (category `S`: `text`, `varchar`,
    /// `bpchar`, `name`, an extension's such as `citext`): its binary form is the text's bytes.
    pub(crate) text_elem: bool,
}

/// Rewrites a value encoded as the type sqlx binds (`bound`), the last thing in `buf` from
/// `start` on, into the binary form of its column's type, where the two differ only in a
/// header. A bind parameter gets that from the server (sqlx learns the parameter's type from
/// `Describe`), a `COPY` does not:
/// - `jsonb` into `json`: the version byte before the text goes (`json` keeps its text as
///   sent, so a space there would be stored), in a value or in each element of an array;
/// - an array of `text` into an array of `varchar`, `bpchar`, `name` or another text type
///   (`citext`), or of a domain over one: the element type in the array's header becomes the
///   column's. Their elements' bytes are the same.
///
/// Other pairs are left as they are: the server refuses what it cannot read, naming the
/// column.
pub(crate) fn as_column_type(column: PgColumn, bound: u32, buf: &mut Vec<u8>, start: usize) {
    const JSON: u32 = 114;
    const JSONB: u32 = 3802;
    const TEXT_LIKE: [u32; 3] = [25, 1042, 1043]; // text, bpchar, varchar
    if column.oid == JSON && bound == JSONB {
        if buf.as_slice().get(start) == Some(&1) {
            buf.remove(start);
        }
    } else if column.elem == JSON {
        let value = buf.split_off(start);
        match json_elements(&value) {
            Some(rewritten) => buf.extend_from_slice(&rewritten),
            None => buf.extend_from_slice(&value),
        }
    } else if column.text_elem
        && let Some(header) = buf.as_mut_slice().get_mut(start + 8..start + 12)
    {
        let elem = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if elem != column.elem && TEXT_LIKE.contains(&elem) {
            header.copy_from_slice(&column.elem.to_be_bytes());
        }
    }
}

/// An array of `jsonb` as an array of `json`: the element type in its header, and each
/// element without its version byte. `None` when `value` is not such an array.
fn json_elements(value: &[u8]) -> Option<Vec<u8>> {
    const JSON: u32 = 114;
    const JSONB: u32 = 3802;
    let int = |at: usize| -> Option<i32> {
        let bytes = value.get(at..at + 4)?;
        Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let ndim = usize::try_from(int(0)?).ok()?;
    if int(8)? as u32 != JSONB {
        return None;
    }
    // The dimensions and lower bounds follow the header, then each element.
    let mut at = 12 + 8 * ndim;
    let mut out = Vec::with_capacity(value.len());
    out.extend_from_slice(value.get(..8)?);
    out.extend_from_slice(&JSON.to_be_bytes());
    out.extend_from_slice(value.get(12..at)?);
    while at < value.len() {
        let len = int(at)?;
        at += 4;
        let Ok(len) = usize::try_from(len) else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        };
        let element = value.get(at..at + len)?;
        at += len;
        let text = match element.split_first() {
            Some((1, text)) => text,
            _ => element,
        };
        out.extend_from_slice(&i32::try_from(text.len()).ok()?.to_be_bytes());
        out.extend_from_slice(text);
    }
    Some(out)
}
