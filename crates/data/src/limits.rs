//! What one data file may make plec hold, beyond the file's own size (docs/hostile-inputs.md): a CSV record is
//! read whole, a multi-value cell or a sequence becomes one value per part, and a batch of lists is padded to its
//! longest list, so a single hostile row could otherwise multiply memory by the batch size.

/// The most bytes one CSV record may take (after gzip), checked while it is read.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The most values one multi-value cell, or positions one sequence cell, may hold.
pub const MAX_CELL_VALUES: usize = 65_536;

/// A batch of lists padded to its longest may hold up to this many elements, or [`PADDING_FACTOR`] times the
/// values its rows really hold, whichever is larger.
pub const MIN_PADDED: usize = 1 << 20;
pub const PADDING_FACTOR: usize = 64;

/// Why `values` values in one cell are refused, if they are.
pub(crate) fn too_many_values(values: usize, what: &str) -> Option<String> {
    (values > MAX_CELL_VALUES).then(|| format!("{values} {what}, more than the limit of {MAX_CELL_VALUES} per cell"))
}

/// Why padding `rows` lists (holding `present` values, the longest `longest`) to one width is refused, if it is.
pub(crate) fn padding_problem(rows: usize, longest: usize, present: usize) -> Option<String> {
    let padded = rows.saturating_mul(longest);
    let limit = MIN_PADDED.max(present.saturating_mul(PADDING_FACTOR));
    (padded > limit).then(|| {
        format!(
            "{longest} values: padding the batch's {rows} rows to them makes {padded} elements, more than the limit \
             of {limit} (max({MIN_PADDED}, {PADDING_FACTOR} x the {present} values present)); use smaller batches \
             or fewer values per cell"
        )
    })
}

/// The parts `text` splits into on `separator` (one for an empty separator), counted without collecting them.
pub(crate) fn parts(text: &str, separator: &str) -> usize {
    if separator.is_empty() {
        1
    } else {
        text.matches(separator).count() + 1
    }
}
