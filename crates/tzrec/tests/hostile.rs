//! Hostile checkpoints: the pickle bomb of issue 30 and crafted files are refused fast with bounded memory, and
//! every reader of checkpoint bytes (pickle, zip, `torch.save` archive, DCP directory) is fuzzed from the
//! committed fixtures (plec_spec::fuzz: deterministic cases, a counting allocator that refuses to pass a bound).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_spec::fuzz::{self, CountingAllocator, Target};
use plec_spec::test_dir::TestDir;
use plec_tzrec::dcp::{Checkpoint, Item, METADATA_FILE};
use plec_tzrec::pickle::{self, Value};
use plec_tzrec::{torch_save, zip};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const FIXTURES: [&str; 4] = ["ple_single", "ple_two_ranks", "ple_din_single", "ple_din_two_ranks"];

fn state_dir(fixture: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tzrec").join(fixture).join("model.ckpt-100/model")
}

fn metadata_files() -> Vec<Vec<u8>> {
    FIXTURES.iter().map(|f| std::fs::read(state_dir(f).join(METADATA_FILE)).unwrap()).collect()
}

/// The `torch.save` archive of every chunk of the fixtures (the seeds of the archive readers).
fn chunk_archives() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for fixture in FIXTURES {
        let checkpoint = Checkpoint::open(&state_dir(fixture)).unwrap();
        for item in checkpoint.items.values() {
            let Item::Tensor(info) = item else { continue };
            for chunk in &info.chunks {
                let file = std::fs::read(state_dir(fixture).join(&chunk.file)).unwrap();
                let (start, len) = (chunk.byte_offset as usize, chunk.byte_length as usize);
                out.push(file[start..start + len].to_vec());
            }
        }
    }
    out.sort_by_key(Vec::len);
    out.dedup();
    out
}

/// The values a walk of `value` visits (shared parts at each use): what a consumer that walks it does.
fn walk(value: &Value) -> u64 {
    let parts = |items: &[Value]| items.iter().map(walk).sum::<u64>();
    1 + match value {
        Value::Tuple(items) | Value::List(items) => parts(items),
        Value::Dict(entries) => entries.iter().map(|(k, v)| walk(k) + walk(v)).sum(),
        Value::Object { callable, args, state } => walk(callable) + parts(args) + state.as_deref().map_or(0, walk),
        Value::PersistentId(id) => walk(id),
        _ => 0,
    }
}

/// PROTO 4, EMPTY_LIST, MEMOIZE, then `levels` times a list of the previous memo entry twice (MARK, BINGET k,
/// BINGET k, LIST, MEMOIZE), STOP: 2^(levels+1) - 1 values when walked, 7 bytes per level.
fn pickle_bomb(levels: u8) -> Vec<u8> {
    let mut bytes = vec![0x80, 0x04, b']', 0x94];
    for k in 0..levels {
        bytes.extend([b'(', b'h', k, b'h', k, b'l', 0x94]);
    }
    bytes.push(b'.');
    bytes
}

/// The bound every hostile case below is held to: far below what the bomb asked for (terabytes).
const SMALL: usize = 1 << 20;

#[test]
fn the_285_byte_pickle_bomb_is_refused_with_the_limit_and_bounded_memory() {
    let bomb = pickle_bomb(40);
    assert_eq!(bomb.len(), 285);
    let (result, peak) = fuzz::with_bound("bomb", 0, SMALL, || pickle::parse(&bomb));
    let error = result.unwrap_err();
    let budget = pickle::value_budget(bomb.len());
    assert!(error.to_string().contains(&format!("more than {budget} values")), "{error}");
    // The first level past the budget: level k walks to 2^(k+1) - 1 values; its LIST is at byte 4 + 7 (k - 1) + 5.
    let level = (1..=40u32).find(|&k| (1u64 << (k + 1)) - 1 > budget).unwrap() as usize;
    let list_at = 4 + 7 * (level - 1) + 5;
    assert_eq!(error.offset, list_at, "{error}");
    assert!(peak < SMALL, "{peak} bytes");

    // Through `plec compile --tzrec-checkpoint`'s reader: the error names the file.
    let dir = TestDir::new("pickle-bomb");
    std::fs::write(dir.join(METADATA_FILE), &bomb).unwrap();
    let (result, peak) = fuzz::with_bound("bomb", 1, SMALL, || Checkpoint::open(dir.path()).map(|_| ()));
    let error = result.unwrap_err().to_string();
    assert!(error.contains(".metadata") && error.contains(&format!("byte {list_at}")), "{error}");
    assert!(peak < SMALL, "{peak} bytes");
}

#[test]
fn a_bomb_under_the_budget_is_read_shared_and_walks_cheaply() {
    let levels = 12u8;
    let bomb = pickle_bomb(levels);
    let (value, peak) = fuzz::with_bound("small bomb", 0, SMALL, || pickle::parse(&bomb).unwrap());
    // Shared, not copied: 13 lists in memory, though a walk visits every use.
    assert!(peak < 64 << 10, "{peak} bytes");
    assert_eq!(walk(&value), (1 << (levels + 1)) - 1);
    let (printed, _) = fuzz::with_bound("small bomb", 1, SMALL, || format!("{value:?}").len());
    assert_eq!(
        printed,
        "List([".len() * ((1 << levels) - 1) + "List([])".len() * (1 << levels) + 4 * ((1 << levels) - 1)
    );
}

#[test]
fn the_fixtures_expand_far_less_than_the_budget() {
    // The budget (VALUES_PER_BYTE values per byte) must leave real metadata plenty of room.
    for bytes in metadata_files() {
        let walked = walk(&pickle::parse(&bytes).unwrap());
        assert!(walked * 4 < pickle::value_budget(bytes.len()), "{walked} values from {} bytes", bytes.len());
    }
}

#[test]
fn a_chunk_claiming_more_elements_than_its_bytes_is_refused_before_allocating() {
    // A copy of a fixture whose index claims a huge tensor: the sizes are rewritten in the pickle's ints.
    let dir = TestDir::new("huge-claim");
    let source = state_dir("ple_single");
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let checkpoint = Checkpoint::open(dir.path()).unwrap();
    let (fqn, info) = checkpoint
        .items
        .iter()
        .find_map(|(fqn, item)| match item {
            Item::Tensor(info) if info.shape.len() == 2 => Some((fqn.clone(), info.clone())),
            _ => None,
        })
        .unwrap();
    let mut huge = Checkpoint { dir: checkpoint.dir.clone(), items: checkpoint.items.clone() };
    let mut claimed = info.clone();
    claimed.shape[0] = 1 << 40;
    claimed.chunks[0].sizes[0] = 1 << 40;
    huge.items.insert(fqn.clone(), Item::Tensor(claimed));
    let (result, peak) = fuzz::with_bound("huge claim", 0, SMALL, || huge.read(&fqn).map(|_| ()));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("claims") && error.contains("__0_0.distcp"), "{error}");
    assert!(peak < SMALL, "{peak} bytes");
}

/// A `data.pkl` calling `_rebuild_tensor_v2` on storage `key` with `size` and `stride` (protocol 2 opcodes).
fn rebuild_pickle(key: &str, size: [u32; 2], stride: [u32; 2]) -> Vec<u8> {
    let text = |s: &str| [&[b'X'][..], &(s.len() as u32).to_le_bytes(), s.as_bytes()].concat();
    let int = |i: u32| [&[b'J'][..], &i.to_le_bytes()].concat();
    [
        &b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(("[..],
        &text("storage"),
        b"ctorch\nFloatStorage\n",
        &text(key),
        &text("cpu"),
        b"K\x01tQK\x00(",
        &int(size[0]),
        &int(size[1]),
        b"t(",
        &int(stride[0]),
        &int(stride[1]),
        b"t\x89tR.",
    ]
    .concat()
}

#[test]
fn a_torch_save_view_claiming_more_elements_than_its_storage_is_refused() {
    let mut archive = chunk_archives().pop().unwrap();
    let members = zip::entries(&archive).unwrap();
    let pkl = members.iter().find(|m| m.name.ends_with("/data.pkl")).unwrap();
    let original = pickle::parse(&archive[pkl.data_start..pkl.data_start + pkl.size]).unwrap();
    let Value::Object { args, .. } = &original else { panic!("{original:?}") };
    let Value::PersistentId(id) = &args[0] else { panic!("{original:?}") };
    let key = id.items().unwrap()[2].as_str().unwrap().to_string();
    // In place of the real data.pkl (bytes after STOP are never read): 2^40 elements of a few-KiB storage, once
    // with strides that walk the storage and once with stride 0 (every element the same float).
    for stride in [[1 << 10, 1], [0, 0]] {
        let crafted = rebuild_pickle(&key, [1 << 30, 1 << 10], stride);
        assert!(crafted.len() <= pkl.size, "{} bytes do not fit {}", crafted.len(), pkl.size);
        archive[pkl.data_start..pkl.data_start + crafted.len()].copy_from_slice(&crafted);
        // A crafted file carries a matching CRC-32 (a damaged one is refused before the pickle is read).
        record_crc(&mut archive, pkl);
        let (result, peak) = fuzz::with_bound("view", 0, SMALL, || torch_save::read_tensor(&archive).map(|_| ()));
        let error = result.unwrap_err();
        assert!(error.contains("claims more elements than its storage"), "{error}");
        assert!(peak < SMALL, "{peak} bytes");
    }
}

/// Writes the CRC-32 of `member`'s current bytes into its central-directory entry (4 bytes at offset 16).
fn record_crc(archive: &mut [u8], member: &zip::Entry) {
    let crc = crc32fast::hash(&archive[member.data_start..member.data_start + member.size]);
    let name = member.name.as_bytes();
    let entry = (0..archive.len() - 46)
        .find(|&at| archive[at..].starts_with(b"PK\x01\x02") && archive[at + 46..].starts_with(name))
        .expect("the member's central-directory entry");
    archive[entry + 16..entry + 20].copy_from_slice(&crc.to_le_bytes());
}

fn fuzz_bound(len: usize) -> usize {
    (4 << 20) + 512 * len
}

#[test]
fn fuzz_pickle() {
    let target = Target { name: "pickle", seeds: metadata_files(), cases: 300, bound: &fuzz_bound };
    fuzz::run(&target, |bytes| {
        let value = pickle::parse(bytes)?;
        // Whoever walks or compares what was accepted stays within the budget too.
        assert!(walk(&value) <= pickle::value_budget(bytes.len()));
        assert_eq!(value, value.clone());
        Ok::<(), pickle::PickleError>(())
    });
}

#[test]
fn fuzz_zip_and_torch_save() {
    let archives = chunk_archives();
    let target = Target { name: "zip", seeds: archives.clone(), cases: 300, bound: &fuzz_bound };
    fuzz::run(&target, |bytes| zip::entries(bytes).map(|_| ()));
    let target = Target { name: "torch_save", seeds: archives, cases: 300, bound: &fuzz_bound };
    fuzz::run(&target, |bytes| torch_save::read_tensor(bytes).map(|_| ()));
}

#[test]
fn fuzz_dcp_metadata() {
    // The mutated `.metadata` beside the real chunk files of the two-rank fixture; every item it lists is read.
    let dir = TestDir::new("fuzz-dcp");
    for entry in std::fs::read_dir(state_dir("ple_two_ranks")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let files: usize =
        ["__0_0.distcp", "__1_0.distcp"].iter().map(|f| std::fs::metadata(dir.join(f)).unwrap().len() as usize).sum();
    let bound = |len: usize| fuzz_bound(len) + 8 * files;
    let target = Target { name: "dcp", seeds: metadata_files(), cases: 150, bound: &bound };
    fuzz::run(&target, |bytes| {
        std::fs::write(dir.join(METADATA_FILE), bytes).unwrap();
        let checkpoint = Checkpoint::open(dir.path())?;
        // Each tensor reads or is refused on its own (the int64 step counters always are).
        for fqn in checkpoint.items.keys() {
            let _ = checkpoint.read(fqn);
        }
        Ok::<(), plec_tzrec::ImportError>(())
    });
}
