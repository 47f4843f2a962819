//! The lookup of `get_or_create` keys: the stored rows whose key columns equal the given
//! keys, in statements cut to the bind limit and the server's statement size.

use super::send::rows_per_statement;
use crate::db::Backend;
use crate::model::Insert;

/// The stored rows whose `get_or_create` columns equal one of `keys`, with their keys as Rust
/// sees them: `SELECT .. WHERE (k = ?) OR ..`, in statements under the bind limit and, with
/// `budget`, keys of at most that many bytes ([`Insert::lookup_key_size`]) each. `latest`:
/// the latest committed rows, not a transaction's snapshot ([`Backend::LATEST_READ`]).
pub(crate) async fn select_by_keys<DB: Backend, M: Insert<DB>>(
    conn: &mut DB::Connection,
    keys: &[&M::LookupKey],
    budget: Option<usize>,
    latest: bool,
) -> Result<Vec<(M::LookupKey, DB::Row)>, sqlx::Error> {
    let per_key = M::GET_OR_CREATE.len();
    let most = rows_per_statement::<DB>(per_key);
    let mut chunks = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let mut count = 0usize;
        let mut bytes = 0usize;
        for key in rest.iter().take(most) {
            let size = budget.map_or(0, |_| M::lookup_key_size(key));
            if count > 0 && budget.is_some_and(|budget| bytes + size > budget) {
                break;
            }
            count += 1;
            bytes += size;
        }
        let (chunk, tail) = rest.split_at(count);
        chunks.push(chunk);
        rest = tail;
    }
    let mut found = Vec::new();
    for chunk in chunks {
        let sql = crate::db::sql::select_by_keys_sql::<DB>(
            M::TABLE,
            M::COLUMNS,
            M::GET_OR_CREATE,
            chunk.len(),
            latest,
        );
        let mut args = DB::Arguments::default();
        for key in chunk {
            M::bind_lookup_key((*key).clone(), &mut args).map_err(sqlx::Error::Encode)?;
        }
        for row in DB::fetch_all(&mut *conn, sql.into(), args).await? {
            found.push((M::from_row(&row)?.lookup_key(), row));
        }
    }
    Ok(found)
}
