//! The machine-wide sequence counter: one file per table in a directory only this user can
//! reach, from which each process reserves blocks of numbers, so that processes running at
//! once (test binaries, `cargo nextest`'s processes) never hand out the same number.

use std::sync::{Mutex, PoisonError};

/// The shared counter hands out numbers below this; past it, it starts again at 1 (after five
/// billion numbers handed out to one user of the machine).
pub(crate) const SHARED_END: u64 = 5_000_000_000;

/// This process's block of a table's machine-wide sequence counter: `[next, end)`.
pub(crate) struct SharedCounter {
    next: u64,
    end: u64,
    /// The size of the next block: small first, so a process that makes few rows wastes few
    /// numbers, doubling up to a cap, so one that makes many locks the file rarely.
    block: u64,
    /// The counter file as this process last left it. It never takes a number at or below
    /// `high` (the end of the last block it reserved), and when the file at the counter's path
    /// is another one (deleted and made again by a tmp cleaner), the last number of the one
    /// it replaced is read from `held` (kept open for that): so a deleted counter neither
    /// repeats this process's numbers nor those of the processes that shared the old file.
    file: counter_file::Held,
}

/// Counters per table: `tables` maps each `Model::TABLE` seen to its counter (one per
/// [`counter_key`]), so the spelling of a name is worked out once per table.
pub(crate) struct ByTable<T> {
    tables: Vec<(&'static str, usize)>,
    counters: Vec<(String, T)>,
}

impl<T> ByTable<T> {
    pub(crate) const fn new() -> Self {
        ByTable {
            tables: Vec::new(),
            counters: Vec::new(),
        }
    }

    /// The counter of `table` and its key, made by `fresh` if it is the first of its key.
    pub(crate) fn get(&mut self, table: &'static str, fresh: impl FnOnce() -> T) -> (&str, &mut T) {
        let i = match self.tables.iter().find(|(t, _)| *t == table) {
            Some((_, i)) => *i,
            None => {
                let key = counter_key(table);
                let i = match self.counters.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        self.counters.push((key, fresh()));
                        self.counters.len() - 1
                    }
                };
                self.tables.push((table, i));
                i
            }
        };
        let (key, counter) = &mut self.counters[i];
        (key, counter)
    }
}

impl SharedCounter {
    pub(crate) fn next(table: &'static str) -> u64 {
        static COUNTERS: Mutex<ByTable<SharedCounter>> = Mutex::new(ByTable::new());
        let mut all = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        let (key, counter) = all.get(table, || SharedCounter {
            next: 0,
            end: 0,
            block: 16,
            file: counter_file::Held::default(),
        });
        if counter.next == counter.end {
            let block = counter.block;
            counter.block = (block * 2).min(1 << 16);
            counter.next = reserve(key, block, &mut counter.file);
            counter.end = counter.next + block;
        }
        counter.next += 1;
        counter.next - 1
    }
}

/// What names a table's counter: its unqualified name, unquoted, in lower case, with anything
/// but ASCII letters and digits as `_`. `"t"`, `"s.t"` and `"S.T"` can be one table (through
/// the `search_path`, or a case-insensitive name), so they share a counter; two tables that
/// only share the name get sparser numbers, never the same one.
fn counter_key(table: &str) -> String {
    let name = table.rsplit('.').next().unwrap_or(table);
    name.chars()
        .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Reserves `block` numbers of the machine-wide counter `key` and returns the first.
fn reserve(key: &str, block: u64, held: &mut counter_file::Held) -> u64 {
    match counter_file::reserve(key, block, held) {
        Ok(first) => first,
        // No counter directory of the user's own (no writable temp dir, or one another user
        // controls): numbers unique to this process id, longer (up to 16 digits).
        Err(_) => {
            static LOCAL: Mutex<u64> = Mutex::new(0);
            let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
            let first = 10_000_000_000 + u64::from(std::process::id()) * 1_000_000_000 + *local;
            *local += block;
            first
        }
    }
}

/// The counter files: one per table in a directory only the current user can reach, each
/// holding the last number handed out, read and advanced under an exclusive lock.
mod counter_file {
    use std::fs::File;
    use std::io::{self, Read, Seek, Write};
    use std::path::{Path, PathBuf};

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::SHARED_END;

    /// How many counter files the process keeps open, at most [`MAX_HELD_FILES`].
    static HELD_FILES: AtomicUsize = AtomicUsize::new(0);
    const MAX_HELD_FILES: usize = 32;

    /// The counter file a process last wrote, and the end of the block it reserved there.
    #[derive(Default)]
    pub(super) struct Held {
        file: Option<File>,
        high: u64,
    }

    /// Reserves `block` numbers of the counter `name` and returns the first.
    pub(super) fn reserve(name: &str, block: u64, held: &mut Held) -> io::Result<u64> {
        let path = directory()?.join(name);
        // The file can be deleted between our open and our lock; then the counter is another
        // file, made by whoever comes next: open again.
        for _ in 0..16 {
            let file = open(&path)?;
            file.lock()?;
            if !still_at(&file, &path)? {
                continue;
            }
            let mut used = read(&file)?.max(held.high);
            if let Some(old) = &held.file
                && !same_file(old, &file)?
            {
                // Whoever still writes the file this one replaced holds its lock: wait for
                // them, then its number is final (nobody writes a file no longer at the path).
                old.lock()?;
                let last = read(old);
                old.unlock()?;
                used = used.max(last?);
            }
            let first = if used + block >= SHARED_END {
                1
            } else {
                used + 1
            };
            write(&file, first + block - 1)?;
            file.unlock()?;
            // One descriptor per table for the whole run, up to a bound (macOS allows a
            // process 256 by default, which its connections need too); past it, a table keeps
            // only its `high`.
            let keep = held.file.is_some()
                || HELD_FILES
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        (n < MAX_HELD_FILES).then_some(n + 1)
                    })
                    .is_ok();
            *held = Held {
                file: keep.then_some(file),
                high: first + block - 1,
            };
            return Ok(first);
        }
        Err(io::Error::other("the counter file kept being replaced"))
    }

    /// The last number the file holds: 0 when empty (just made). Content the counter never
    /// writes (not a number, or one past the shared range) says nothing of the numbers handed
    /// out before, so taking it as 0 could hand them out again: it is an error, and the
    /// process numbers the table with its own numbers instead.
    fn read(mut file: &File) -> io::Result<u64> {
        let mut text = String::new();
        file.rewind()?;
        file.read_to_string(&mut text)?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        match text.parse::<u64>() {
            Ok(last) if last < SHARED_END => Ok(last),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the counter file holds no number the counter wrote",
            )),
        }
    }

    fn write(mut file: &File, last: u64) -> io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{last}")
    }

    #[cfg(unix)]
    fn refused(why: &str) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, why)
    }

    #[cfg(unix)]
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};

    /// The current user's counter directory, `$TMPDIR/sqlx-factory-sequences-<uid>`: made
    /// `0700` if missing, and used only if it is a directory (not a link), owned by the user
    /// and writable by nobody else, in a temp dir where nobody else can move it.
    #[cfg(unix)]
    fn directory() -> io::Result<PathBuf> {
        let tmp = std::env::temp_dir();
        let uid = current_uid(&tmp)?;
        // Another user could rename our directory away and put theirs in its place only in a
        // temp dir they own, or that anyone can write without the sticky bit.
        let parent = std::fs::metadata(&tmp)?;
        if parent.uid() != uid && parent.uid() != 0 {
            return Err(refused("the temp dir belongs to another user"));
        }
        if parent.mode() & 0o022 != 0 && parent.mode() & 0o1000 == 0 {
            return Err(refused(
                "others can write the temp dir and it is not sticky",
            ));
        }
        let dir = tmp.join(format!("sqlx-factory-sequences-{uid}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        private_dir(&std::fs::symlink_metadata(&dir)?, uid).map_err(refused)?;
        Ok(dir)
    }

    /// Whether a directory (its metadata, not following a link) is `uid`'s alone: a real
    /// directory, owned by `uid`, that nobody else can write.
    #[cfg(unix)]
    pub(super) fn private_dir(meta: &std::fs::Metadata, uid: u32) -> Result<(), &'static str> {
        if !meta.is_dir() {
            return Err("the counter directory is not a directory");
        }
        if meta.uid() != uid {
            return Err("the counter directory belongs to another user");
        }
        if meta.mode() & 0o022 != 0 {
            return Err("others can write the counter directory");
        }
        Ok(())
    }

    /// The user this process creates files as: the owner of a file it creates (once per
    /// process), as the crate has no `unsafe` to call `geteuid`.
    #[cfg(unix)]
    fn current_uid(tmp: &Path) -> io::Result<u32> {
        static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        if let Some(uid) = UID.get() {
            return Ok(*uid);
        }
        let probe = tmp.join(format!(
            ".sqlx-factory-uid-{}-{:x}",
            std::process::id(),
            fake::rand::random::<u64>()
        ));
        // `create_new` never follows a link planted under the probe's name.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&probe)?;
        let uid = file.metadata().map(|m| m.uid());
        let _ = std::fs::remove_file(&probe);
        Ok(*UID.get_or_init(|| uid.unwrap_or(u32::MAX)))
    }

    /// Opens (or makes, `0600`) a counter file, never through a link, and only a regular file
    /// of the user's.
    #[cfg(unix)]
    fn open(path: &Path) -> io::Result<File> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let meta = file.metadata()?;
        let tmp = std::env::temp_dir();
        if !meta.is_file() || meta.uid() != current_uid(&tmp)? {
            return Err(refused("the counter file is not a file of the user's"));
        }
        Ok(file)
    }

    #[cfg(unix)]
    fn same_file(a: &File, b: &File) -> io::Result<bool> {
        let (a, b) = (a.metadata()?, b.metadata()?);
        Ok((a.dev(), a.ino()) == (b.dev(), b.ino()))
    }

    /// Whether `file` is still the one at `path`.
    #[cfg(unix)]
    fn still_at(file: &File, path: &Path) -> io::Result<bool> {
        let (open, there) = (file.metadata()?, std::fs::symlink_metadata(path));
        Ok(there.is_ok_and(|there| (open.dev(), open.ino()) == (there.dev(), there.ino())))
    }

    /// Elsewhere the temp dir is the user's own (Windows: under the user's profile).
    #[cfg(not(unix))]
    fn directory() -> io::Result<PathBuf> {
        let dir = std::env::temp_dir().join("sqlx-factory-sequences");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    #[cfg(not(unix))]
    fn open(path: &Path) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }

    /// Without file identities, a replaced file is not told apart: the process's own `high`
    /// still keeps it from repeating a number.
    #[cfg(not(unix))]
    fn same_file(_: &File, _: &File) -> io::Result<bool> {
        Ok(true)
    }

    #[cfg(not(unix))]
    fn still_at(_: &File, path: &Path) -> io::Result<bool> {
        Ok(path.exists())
    }
}

#[cfg(test)]
mod tests {
    use super::counter_key;

    /// The ownership check alone, for any user: a directory of ours is another user's
    /// directory to the next uid (the end-to-end case, a directory chowned to another user,
    /// needs root: tests/sequence_counter.rs).
    #[cfg(unix)]
    #[test]
    fn a_directory_is_private_only_to_its_owner() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};

        use super::counter_file::private_dir;

        let dir = std::env::temp_dir().join(format!("sqlx-factory-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert_eq!(private_dir(&meta, meta.uid()), Ok(()));
        assert_eq!(
            private_dir(&meta, meta.uid().wrapping_add(1)),
            Err("the counter directory belongs to another user")
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert_eq!(
            private_dir(&meta, meta.uid()),
            Err("others can write the counter directory")
        );
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn spellings_of_one_table_share_a_key() {
        for spelling in [
            "users",
            "app.users",
            "\"app\".\"users\"",
            "`users`",
            "APP.Users",
        ] {
            assert_eq!(counter_key(spelling), "users", "{spelling}");
        }
        assert_eq!(counter_key("user-log"), "user_log");
    }
}
