//! The page headers of the Parquet column chunks a reader will read, checked before parquet reads them: parquet
//! reserves a page's claimed uncompressed size (up to 2 GiB) before decompressing it, so a tiny page could
//! otherwise claim gigabytes. Each header is decoded just enough (Thrift compact protocol) to find its two sizes:
//! the compressed size must lie inside its column chunk, which must lie inside the file, and the uncompressed size
//! may exceed the compressed one at most [`MAX_PAGE_EXPANSION`] times (snappy, the one codec plec reads, expands
//! less than 22 times), plus [`PAGE_SLACK`] bytes.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use parquet::arrow::ProjectionMask;
use parquet::file::metadata::ParquetMetaData;

pub const MAX_PAGE_EXPANSION: u64 = 32;
pub const PAGE_SLACK: u64 = 1 << 16;

/// Thrift structs nest at most this deep in a page header (statistics, encryption, geospatial fields).
const MAX_NESTING: usize = 16;

/// Checks every page header of the column chunks `mask` selects; the error says which chunk and byte.
pub(crate) fn check_pages(file: &File, meta: &ParquetMetaData, mask: &ProjectionMask) -> Result<(), String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    for (group, row_group) in meta.row_groups().iter().enumerate() {
        for (index, chunk) in row_group.columns().iter().enumerate() {
            if !mask.leaf_included(index) {
                continue;
            }
            // Not `byte_range()`: it panics on the negative offsets a hostile footer may hold (so would parquet's
            // reader, which this check runs before).
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let (start, len) = match (u64::try_from(start), u64::try_from(chunk.compressed_size())) {
                (Ok(start), Ok(len)) => (start, len),
                _ => {
                    return Err(format!(
                        "column chunk {index} of row group {group} claims a negative offset or size ({start}, {})",
                        chunk.compressed_size()
                    ))
                }
            };
            let end = start.checked_add(len).filter(|&end| end <= file_len).ok_or_else(|| {
                format!(
                    "column chunk {index} of row group {group} claims bytes {start}..+{len}, past the end of the \
                     file ({file_len} bytes)"
                )
            })?;
            let at =
                |pos: u64, message: String| format!("column chunk {index} of row group {group}, byte {pos}: {message}");
            let mut pos = start;
            while pos < end {
                let mut header = Header::at(file, pos, end - pos).map_err(|e| at(pos, e))?;
                let (uncompressed, compressed) = header.sizes().map_err(|e| at(pos, e))?;
                let data_start = pos + header.consumed;
                if compressed > end - data_start {
                    return Err(at(pos, format!("a page of {compressed} bytes runs past its column chunk")));
                }
                let most = compressed.saturating_mul(MAX_PAGE_EXPANSION) + PAGE_SLACK;
                if uncompressed > most {
                    return Err(at(
                        pos,
                        format!(
                            "a page of {compressed} bytes claims {uncompressed} bytes uncompressed, more than the \
                             limit of {most} ({MAX_PAGE_EXPANSION} x {compressed} + {PAGE_SLACK})"
                        ),
                    ));
                }
                pos = data_start + compressed;
            }
        }
    }
    Ok(())
}

/// One page header being read, at most `limit` bytes.
struct Header {
    input: std::io::Take<BufReader<File>>,
    consumed: u64,
}

impl Header {
    fn at(file: &File, pos: u64, limit: u64) -> Result<Header, String> {
        let mut file = file.try_clone().map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        // Headers are small: a small buffer keeps the scan from reading the pages themselves.
        Ok(Header { input: BufReader::with_capacity(256, file).take(limit), consumed: 0 })
    }

    fn byte(&mut self) -> Result<u8, String> {
        let mut one = [0u8];
        self.input.read_exact(&mut one).map_err(|_| "the page header runs past its column chunk".to_string())?;
        self.consumed += 1;
        Ok(one[0])
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        let skipped = std::io::copy(&mut (&mut self.input).take(n), &mut std::io::sink()).map_err(|e| e.to_string())?;
        self.consumed += skipped;
        if skipped != n {
            return Err("the page header runs past its column chunk".into());
        }
        Ok(())
    }

    /// The page header's (uncompressed, compressed) sizes, reading the whole header.
    fn sizes(&mut self) -> Result<(u64, u64), String> {
        let (mut uncompressed, mut compressed) = (None, None);
        let mut field = 0i64;
        loop {
            let b = self.byte()?;
            if b == 0 {
                break;
            }
            let kind = b & 0x0f;
            field = match b >> 4 {
                0 => self.zigzag()?,
                delta => field + i64::from(delta),
            };
            match (field, kind) {
                (2, 5) => uncompressed = Some(self.zigzag()?),
                (3, 5) => compressed = Some(self.zigzag()?),
                _ => self.skip_value(kind, 0)?,
            }
        }
        match (uncompressed, compressed) {
            (Some(u), Some(c)) if u >= 0 && c >= 0 => Ok((u as u64, c as u64)),
            (Some(_), Some(_)) => Err("a page header with a negative size".into()),
            _ => Err("a page header without its sizes".into()),
        }
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), String> {
        if depth > MAX_NESTING {
            return Err(format!("a page header nested deeper than {MAX_NESTING} levels"));
        }
        match kind {
            1 | 2 => Ok(()), // booleans live in the field header
            3 => self.byte().map(|_| ()),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let len = self.varint()?;
                self.skip(len)
            }
            9 | 10 => {
                let header = self.byte()?;
                let size = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let element = header & 0x0f;
                for _ in 0..size {
                    // Booleans in a list take a byte each, and every element at least one: the chunk's length
                    // ends this loop.
                    if element == 1 || element == 2 {
                        self.byte()?;
                    } else {
                        self.skip_value(element, depth + 1)?;
                    }
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                if size > 0 {
                    let kinds = self.byte()?;
                    for _ in 0..size {
                        self.skip_value(kinds >> 4, depth + 1)?;
                        self.skip_value(kinds & 0x0f, depth + 1)?;
                    }
                }
                Ok(())
            }
            12 => {
                let mut field = 0i64;
                loop {
                    let b = self.byte()?;
                    if b == 0 {
                        return Ok(());
                    }
                    if b >> 4 == 0 {
                        field = self.zigzag()?;
                    } else {
                        field += i64::from(b >> 4);
                    }
                    let _ = field;
                    self.skip_value(b & 0x0f, depth + 1)?;
                }
            }
            other => Err(format!("a page header field of unknown type {other}")),
        }
    }
}
