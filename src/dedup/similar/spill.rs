//! Where the window keeps its items' features: the newest in memory, up to a byte budget, and the rest in
//! an unnamed spill file beside the database, read back when an item is verified, evicted or settled.
//!
//! Features never change once an item enters the window, so they are appended once to fixed-size chunks
//! and only read after. A full chunk past the budget is written out whole; a chunk whose items all left
//! the window is freed, and its slot in the file taken by the next chunk written. The file is created
//! already unlinked, so nothing is left behind by a crash, and its data only ever mirrors the window,
//! which is rebuilt from the database at start.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Words per chunk (256 KiB): large enough that one write moves thousands of items, small enough that
/// a chunk pinned by one long-lived item wastes little.
#[cfg(not(test))]
const CHUNK_WORDS: usize = 1 << 16;
/// Unit tests' windows hold a dozen items, not thousands: 1 KiB chunks make them spill. A chunk must
/// hold the largest item (a header, 64 tokens, two alternatives each and the shape: 212 words).
#[cfg(test)]
const CHUNK_WORDS: usize = 1 << 8;
/// Bytes per chunk, in memory and in the file.
const CHUNK_BYTES: usize = CHUNK_WORDS * 4;

/// Where one item's features are: chunk number, word offset in the chunk and word count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FeatRef(u64);

impl FeatRef {
    fn new(chunk: u32, offset: usize, len: usize) -> FeatRef {
        FeatRef(u64::from(chunk) << 32 | (offset as u64) << 16 | len as u64)
    }
    fn chunk(self) -> u32 {
        (self.0 >> 32) as u32
    }
    fn offset(self) -> usize {
        (self.0 >> 16) as usize & 0xffff
    }
    fn len(self) -> usize {
        self.0 as usize & 0xffff
    }
}

/// Where a chunk's words are.
#[derive(Debug)]
enum Place {
    /// In memory (the open chunk, and closed ones within the budget).
    Memory(Vec<u32>),
    /// In the spill file, at this slot.
    Disk(u64),
    /// Freed: every item in it left the window.
    Gone,
}

/// A chunk and how many live items it holds.
#[derive(Debug)]
struct Chunk {
    place: Place,
    live: u32,
}

/// The spill file and its free slots.
#[derive(Debug)]
struct Spill {
    file: File,
    /// Slots of freed chunks, reused before the file grows.
    free: Vec<u64>,
    /// Slots the file has.
    slots: u64,
}

/// The window's features, chunk by chunk (see the module doc).
#[derive(Debug)]
pub(super) struct FeatureStore {
    /// Chunks by number, the first being `first`; the last is the open one.
    chunks: VecDeque<Chunk>,
    first: u32,
    /// Closed chunks in memory, at most.
    memory_chunks: usize,
    /// Closed chunks in memory now.
    in_memory: usize,
    /// Where to create the spill file; None keeps everything in memory.
    dir: Option<PathBuf>,
    /// The spill file, once a chunk went to disk.
    spill: Option<Spill>,
    /// Set after the spill file could not be created or written, which is reported once.
    spill_failed: bool,
}

impl FeatureStore {
    /// A store keeping up to `budget` bytes of closed chunks in memory and the rest in a file created in
    /// `dir` (everything in memory without one).
    pub(super) fn new(budget: usize, dir: Option<&Path>) -> FeatureStore {
        FeatureStore {
            chunks: VecDeque::new(),
            first: 0,
            memory_chunks: budget / CHUNK_BYTES,
            in_memory: 0,
            dir: dir.map(Path::to_path_buf),
            spill: None,
            spill_failed: false,
        }
    }

    /// Stores an item's feature words; they stay until [`FeatureStore::release`].
    pub(super) fn put(&mut self, words: &[u32]) -> FeatRef {
        assert!(
            words.len() <= CHUNK_WORDS,
            "an item's features exceed a chunk"
        );
        let fits = matches!(self.chunks.back(), Some(Chunk { place: Place::Memory(v), .. })
            if v.len() + words.len() <= CHUNK_WORDS);
        if !fits {
            self.close_open_chunk();
            self.chunks.push_back(Chunk {
                place: Place::Memory(Vec::with_capacity(CHUNK_WORDS)),
                live: 0,
            });
        }
        let number = self.first + self.chunks.len() as u32 - 1;
        let chunk = self
            .chunks
            .back_mut()
            .expect("an open chunk was just ensured");
        let Place::Memory(v) = &mut chunk.place else {
            unreachable!("the open chunk is in memory")
        };
        let offset = v.len();
        v.extend_from_slice(words);
        chunk.live += 1;
        FeatRef::new(number, offset, words.len())
    }

    /// The words `r` points at. A spill file that cannot be read (the disk failed under it) gives no
    /// words, after an error naming the file's directory: such an item matches nothing.
    pub(super) fn get(&self, r: FeatRef) -> Box<[u32]> {
        let Some(chunk) = self.chunk(r.chunk()) else {
            return Box::default();
        };
        match &chunk.place {
            Place::Memory(v) => v[r.offset()..r.offset() + r.len()].into(),
            Place::Disk(slot) => self.read_spilled(*slot, r),
            Place::Gone => Box::default(),
        }
    }

    /// The item at `r` left the window; a chunk left with none is freed.
    pub(super) fn release(&mut self, r: FeatRef) {
        let Some(k) = r.chunk().checked_sub(self.first).map(|k| k as usize) else {
            return;
        };
        let open = k + 1 == self.chunks.len();
        let Some(chunk) = self.chunks.get_mut(k) else {
            return;
        };
        chunk.live = chunk.live.saturating_sub(1);
        if chunk.live == 0 && !open {
            match std::mem::replace(&mut chunk.place, Place::Gone) {
                Place::Memory(_) => self.in_memory -= 1,
                Place::Disk(slot) => {
                    if let Some(s) = &mut self.spill {
                        s.free.push(slot);
                    }
                }
                Place::Gone => {}
            }
        }
        while self
            .chunks
            .front()
            .is_some_and(|c| matches!(c.place, Place::Gone))
        {
            self.chunks.pop_front();
            self.first += 1;
        }
    }

    /// Bytes of features held in memory, and in the spill file.
    pub(super) fn bytes(&self) -> (usize, usize) {
        let mut memory = 0;
        let mut disk = 0;
        for c in &self.chunks {
            match &c.place {
                Place::Memory(v) => memory += v.capacity() * 4,
                Place::Disk(_) => disk += CHUNK_BYTES,
                Place::Gone => {}
            }
        }
        (memory, disk)
    }

    /// Where the spill file is (or would be) created.
    fn dir(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new("."))
    }

    /// The chunk numbered `n`, if it is still held.
    fn chunk(&self, n: u32) -> Option<&Chunk> {
        self.chunks.get(n.checked_sub(self.first)? as usize)
    }

    /// Counts the open chunk as closed, and writes the oldest closed chunks in memory out while more
    /// than the budget allows are held.
    fn close_open_chunk(&mut self) {
        match self.chunks.back_mut() {
            // Its items all left while it was open: nothing will release it later.
            Some(c) if c.live == 0 => c.place = Place::Gone,
            Some(_) => self.in_memory += 1,
            None => {}
        }
        if self.dir.is_none() || self.spill_failed {
            return;
        }
        let mut k = 0;
        // The open chunk (about to be replaced) is the last; everything before it is closed.
        while self.in_memory > self.memory_chunks && k < self.chunks.len() {
            // A closed chunk in memory holds live items: one left empty is freed at once.
            if matches!(self.chunks[k].place, Place::Memory(_)) {
                if !self.spill_chunk(k) {
                    return;
                }
                self.in_memory -= 1;
            }
            k += 1;
        }
    }

    /// Writes chunk `k` to the spill file and frees its memory; false (after a warning, once) when the file
    /// cannot be created or written, which leaves every chunk in memory from then on.
    fn spill_chunk(&mut self, k: usize) -> bool {
        let Place::Memory(words) = &self.chunks[k].place else {
            return true;
        };
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        match self.write_chunk(&bytes) {
            Ok(slot) => {
                self.chunks[k].place = Place::Disk(slot);
                true
            }
            Err(e) => {
                tracing::warn!(
                    dir = %self.dir().display(),
                    error = %e,
                    "cannot write the similarity window's spill file; keeping all of it in memory (check that the directory is writable and has space)"
                );
                self.spill_failed = true;
                false
            }
        }
    }

    /// Writes one chunk's bytes at a free slot, creating the file first if needed.
    fn write_chunk(&mut self, bytes: &[u8]) -> std::io::Result<u64> {
        if self.spill.is_none() {
            self.spill = Some(Spill {
                file: tempfile::tempfile_in(self.dir())?,
                free: Vec::new(),
                slots: 0,
            });
        }
        let spill = self.spill.as_mut().expect("created above");
        let slot = match spill.free.pop() {
            Some(s) => s,
            None => {
                spill.slots += 1;
                spill.slots - 1
            }
        };
        spill
            .file
            .write_all_at(bytes, slot * CHUNK_BYTES as u64)
            .inspect_err(|_| spill.free.push(slot))?;
        Ok(slot)
    }

    /// Reads `r`'s words from a spilled chunk.
    fn read_spilled(&self, slot: u64, r: FeatRef) -> Box<[u32]> {
        let Some(spill) = &self.spill else {
            return Box::default();
        };
        let mut bytes = vec![0u8; r.len() * 4];
        let at = slot * CHUNK_BYTES as u64 + r.offset() as u64 * 4;
        match spill.file.read_exact_at(&mut bytes, at) {
            Ok(()) => bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Err(e) => {
                tracing::error!(
                    dir = %self.dir().display(),
                    error = %e,
                    "cannot read the similarity window's spill file; an item is compared as if it had no words"
                );
                Box::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(seed: u32, n: usize) -> Vec<u32> {
        (0..n as u32).map(|i| seed.wrapping_mul(31) ^ i).collect()
    }

    #[test]
    fn spilled_features_read_back_as_written_and_freed_slots_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        // No closed chunk may stay in memory: every full chunk goes to the file.
        let mut store = FeatureStore::new(0, Some(dir.path()));
        let items: Vec<(FeatRef, Vec<u32>)> = (0..3000)
            .map(|i| {
                let w = words(i, 50 + (i as usize % 150));
                (store.put(&w), w)
            })
            .collect();
        let (memory, disk) = store.bytes();
        assert!(disk >= 4 * CHUNK_BYTES, "{disk} bytes spilled");
        assert_eq!(memory, CHUNK_BYTES, "only the open chunk stays in memory");
        for (r, w) in &items {
            assert_eq!(&*store.get(*r), &w[..]);
        }
        let slots = store.spill.as_ref().unwrap().slots;
        // Items leave in order; the file's slots are reused, so it does not grow.
        for (r, _) in &items[..2000] {
            store.release(*r);
        }
        let more: Vec<(FeatRef, Vec<u32>)> = (0..1500)
            .map(|i| {
                let w = words(10_000 + i, 120);
                (store.put(&w), w)
            })
            .collect();
        assert!(store.spill.as_ref().unwrap().slots <= slots + 1);
        for (r, w) in items[2000..].iter().chain(&more) {
            assert_eq!(&*store.get(*r), &w[..]);
        }
    }

    #[test]
    fn without_a_directory_or_within_the_budget_everything_stays_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        for mut store in [
            FeatureStore::new(0, None),
            FeatureStore::new(64 * CHUNK_BYTES, Some(dir.path())),
        ] {
            // About 40 chunks of items.
            let rs: Vec<FeatRef> = (0..100).map(|i| store.put(&words(i, 100))).collect();
            assert_eq!(store.bytes().1, 0);
            assert!(store.spill.is_none());
            assert_eq!(&*store.get(rs[17]), &words(17, 100)[..]);
        }
    }

    #[test]
    fn an_unwritable_directory_keeps_the_features_in_memory() {
        let mut store = FeatureStore::new(0, Some(Path::new("/nonexistent/wiredesk")));
        let rs: Vec<FeatRef> = (0..100).map(|i| store.put(&words(i, 100))).collect();
        assert!(store.spill_failed);
        assert_eq!(store.bytes().1, 0);
        assert_eq!(&*store.get(rs[99]), &words(99, 100)[..]);
    }
}
