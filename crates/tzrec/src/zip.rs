//! The entries of an uncompressed ("stored") zip archive held in memory: what `torch.save` writes. Sizes come from
//! the central directory, because torch writes its local headers with the data-descriptor flag (sizes zero);
//! ZIP64 records are followed, so tensors past 4 GiB read too.

/// One archive member: where its bytes lie in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub data_start: usize,
    pub size: usize,
    /// The CRC-32 the central directory records for the member's bytes (0: not computed, as
    /// `torch.serialization.set_crc32_options(False)` writes).
    pub crc32: u32,
}

impl Entry {
    /// The member's bytes, after checking them against the recorded CRC-32 (when one was recorded): the one
    /// content check a `torch.save` archive carries.
    pub fn checked_data<'a>(&self, archive: &'a [u8]) -> Result<&'a [u8], ZipError> {
        let data = &archive[self.data_start..self.data_start + self.size];
        if self.crc32 != 0 {
            let actual = crc32fast::hash(data);
            if actual != self.crc32 {
                return Err(ZipError(format!(
                    "member `{}` has CRC-32 {actual:08x}, but the archive records {:08x}: the file is damaged",
                    self.name, self.crc32
                )));
            }
        }
        Ok(data)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable torch.save archive: {0}")]
pub struct ZipError(pub String);

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;
const STORED: u16 = 0;

fn read_le(bytes: &[u8], at: usize, n: usize) -> Result<u64, ZipError> {
    let raw = at
        .checked_add(n)
        .and_then(|end| bytes.get(at..end))
        .ok_or_else(|| ZipError(format!("a record at byte {at} runs past the end ({} bytes)", bytes.len())))?;
    Ok(raw.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, ZipError> {
    Ok(read_le(bytes, at, 2)? as u16)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, ZipError> {
    Ok(read_le(bytes, at, 4)? as u32)
}

fn to_usize(value: u64) -> Result<usize, ZipError> {
    usize::try_from(value).map_err(|_| ZipError(format!("offset {value} does not fit this machine")))
}

/// The members of `bytes`, in central-directory order.
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry>, ZipError> {
    // The end-of-central-directory record is the last 22 bytes plus a comment of at most 64 KiB.
    let lowest = bytes.len().saturating_sub(22 + 0xffff);
    let eocd = (lowest..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&at| u32_at(bytes, at).ok() == Some(EOCD))
        .ok_or_else(|| ZipError("no end-of-central-directory record".into()))?;
    let mut count = u64::from(u16_at(bytes, eocd + 10)?);
    let mut directory = u64::from(u32_at(bytes, eocd + 16)?);
    if (count == 0xffff || directory == 0xffff_ffff) && eocd >= 20 && u32_at(bytes, eocd - 20)? == ZIP64_LOCATOR {
        let record = to_usize(read_le(bytes, eocd - 20 + 8, 8)?)?;
        if u32_at(bytes, record)? != ZIP64_EOCD {
            return Err(ZipError("the ZIP64 locator points at no ZIP64 record".into()));
        }
        count = read_le(bytes, record + 32, 8)?;
        directory = read_le(bytes, record + 48, 8)?;
    }
    let mut at = to_usize(directory)?;
    let mut out = Vec::new();
    for _ in 0..count {
        if u32_at(bytes, at)? != CENTRAL {
            return Err(ZipError(format!("no central-directory entry at byte {at}")));
        }
        let method = u16_at(bytes, at + 10)?;
        let crc32 = u32_at(bytes, at + 16)?;
        let mut size = u64::from(u32_at(bytes, at + 24)?);
        let name_len = usize::from(u16_at(bytes, at + 28)?);
        let extra_len = usize::from(u16_at(bytes, at + 30)?);
        let comment_len = usize::from(u16_at(bytes, at + 32)?);
        let mut local = u64::from(u32_at(bytes, at + 42)?);
        let name_bytes = bytes.get(at + 46..at + 46 + name_len).ok_or_else(|| ZipError("truncated name".into()))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        // ZIP64 extended information: the 0xffffffff fields, in order uncompressed, compressed, local offset.
        let compressed_field = u32_at(bytes, at + 20)?;
        let mut extra = at + 46 + name_len;
        let extra_end = extra + extra_len;
        while extra + 4 <= extra_end {
            let id = u16_at(bytes, extra)?;
            let len = usize::from(u16_at(bytes, extra + 2)?);
            if id == 1 {
                let mut field = extra + 4;
                if size == 0xffff_ffff {
                    size = read_le(bytes, field, 8)?;
                    field += 8;
                }
                if compressed_field == 0xffff_ffff {
                    field += 8;
                }
                if local == 0xffff_ffff {
                    local = read_le(bytes, field, 8)?;
                }
            }
            extra += 4 + len;
        }
        if method != STORED {
            return Err(ZipError(format!(
                "member `{name}` is compressed (method {method}); torch.save stores members"
            )));
        }
        let local = to_usize(local)?;
        if u32_at(bytes, local)? != LOCAL {
            return Err(ZipError(format!("member `{name}`: no local header at byte {local}")));
        }
        let data_start = local + 30 + usize::from(u16_at(bytes, local + 26)?) + usize::from(u16_at(bytes, local + 28)?);
        let size = to_usize(size)?;
        if data_start.checked_add(size).is_none_or(|end| end > bytes.len()) {
            return Err(ZipError(format!("member `{name}` runs past the end of the archive")));
        }
        out.push(Entry { name, data_start, size, crc32 });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}
