//! `plec datagen census`: the UCI Census-Income (KDD) file (the MMoE and PLE papers' data set) -> Parquet
//! splits, and the configs of `examples/census/`.
//!
//! Rows split by their 0-based index i in file order: `i % 5` in {0, 1, 2} -> train, 3 -> validation,
//! 4 -> test. Every field is kept under its name (`?` = missing): continuous ones and `instance_weight` as
//! floats, the others as strings; the last field becomes the label `income` (1 for `50000+.`) and
//! `marital_stat` gives the label `never_married` (1 for `Never married`). The configs read every field but
//! `education` and `marital_stat` (as the papers do), `instance_weight` and the labels.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::configs::{quote, Architecture, ConfigText, TaskText};
use super::write::{Chunk, ChunkWriter};
use crate::FileFormat;
use crate::{BadCell, Column, DataError, RowRef, StringColumn};
use plec_spec::Norm;

/// The file's 42 fields, in order (the last is the income label).
pub const FIELDS: [&str; 42] = [
    "age",
    "class_worker",
    "det_ind_code",
    "det_occ_code",
    "education",
    "wage_per_hour",
    "hs_college",
    "marital_stat",
    "major_ind_code",
    "major_occ_code",
    "race",
    "hisp_origin",
    "sex",
    "union_member",
    "unemp_reason",
    "full_or_part_emp",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "tax_filer_stat",
    "region_prev_res",
    "state_prev_res",
    "det_hh_fam_stat",
    "det_hh_summ",
    "instance_weight",
    "mig_chg_msa",
    "mig_chg_reg",
    "mig_move_reg",
    "mig_same",
    "mig_prev_sunbelt",
    "num_emp",
    "fam_under_18",
    "country_father",
    "country_mother",
    "country_self",
    "citizenship",
    "own_or_self",
    "vet_question",
    "vet_benefits",
    "weeks_worked",
    "year",
    "income_label",
];
pub const CONTINUOUS: [&str; 7] =
    ["age", "wage_per_hour", "capital_gains", "capital_losses", "stock_dividends", "num_emp", "weeks_worked"];
/// Fields kept in the data but not fed to the models.
pub const NOT_INPUTS: [&str; 4] = ["education", "marital_stat", "instance_weight", "income_label"];
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];
const INCOME_POSITIVE: &str = "50000+.";
const INCOME_NEGATIVE: &str = "- 50000.";
const NEVER_MARRIED: &str = "Never married";
const MARITAL_FIELD: usize = 7;
const LABEL_FIELD: usize = 41;
/// Buckets of a continuous feature: deciles of its non-zero training values (plus its smallest non-zero value,
/// so that 0 has a bucket of its own).
const QUANTILES: usize = 10;

fn split_of(row: u64) -> usize {
    match row % 5 {
        0..=2 => 0,
        3 => 1,
        _ => 2,
    }
}

fn is_float(field: &str) -> bool {
    CONTINUOUS.contains(&field) || field == "instance_weight"
}

/// One split's columns as they are filled.
struct SplitColumns {
    columns: Vec<Column>,
    income: Vec<Option<i64>>,
    never_married: Vec<Option<i64>>,
}

impl SplitColumns {
    fn new() -> SplitColumns {
        let columns = FIELDS[..LABEL_FIELD]
            .iter()
            .map(|f| if is_float(f) { Column::Float64(Vec::new()) } else { Column::Utf8(StringColumn::default()) })
            .collect();
        SplitColumns { columns, income: Vec::new(), never_married: Vec::new() }
    }

    fn chunk(self) -> Chunk {
        let mut chunk: Chunk = FIELDS.iter().map(|f| f.to_string()).zip(self.columns).collect();
        chunk.push(("income".into(), Column::Int64(self.income)));
        chunk.push(("never_married".into(), Column::Int64(self.never_married)));
        chunk
    }
}

/// The converted file: one chunk per split.
pub struct Census {
    pub splits: Vec<Chunk>,
}

/// Reads the (optionally gzipped) census file.
pub fn read_census(path: &Path) -> Result<Census, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut splits: Vec<SplitColumns> = (0..SPLITS.len()).map(|_| SplitColumns::new()).collect();
    let mut row = 0u64;
    for (index, line) in reader.lines().enumerate() {
        let line_number = index as u64 + 1;
        let line =
            line.map_err(|source| DataError::IoAtLine { path: path.to_path_buf(), line: line_number, source })?;
        if line.trim().is_empty() {
            continue;
        }
        let at = RowRef { file: path.to_path_buf(), row, line: Some(line_number) };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != FIELDS.len() {
            return Err(DataError::FieldCount { at, expected: FIELDS.len(), found: fields.len() });
        }
        let bad = |column: &str, reason: String| {
            DataError::BadCells(vec![BadCell { at: at.clone(), column: column.to_string(), reason }])
        };
        let split = &mut splits[split_of(row)];
        for (j, (column, text)) in split.columns.iter_mut().zip(&fields).enumerate() {
            let value = Some(*text).filter(|t| *t != "?" && !t.is_empty());
            match column {
                Column::Float64(values) => {
                    let number = value
                        .map(|t| {
                            t.parse::<f64>().map_err(|_| bad(FIELDS[j], format!("cannot parse {t:?} as a number")))
                        })
                        .transpose()?;
                    values.push(number);
                }
                Column::Utf8(values) => values.push(value),
                Column::Int64(_) => {}
            }
        }
        let income = match fields[LABEL_FIELD] {
            INCOME_POSITIVE => 1,
            INCOME_NEGATIVE => 0,
            other => {
                let reason = format!("expected {INCOME_POSITIVE:?} or {INCOME_NEGATIVE:?}, found {other:?}");
                return Err(bad(FIELDS[LABEL_FIELD], reason));
            }
        };
        split.income.push(Some(income));
        split.never_married.push(Some(i64::from(fields[MARITAL_FIELD] == NEVER_MARRIED)));
        row += 1;
    }
    if row == 0 {
        return Err(DataError::File { path: path.to_path_buf(), message: "no rows".into() });
    }
    Ok(Census { splits: splits.into_iter().map(SplitColumns::chunk).collect() })
}

/// Per split: its path and (rows, income positives, never-married positives).
pub type CensusSummary = Vec<(PathBuf, [u64; 3])>;

/// Writes `train.parquet`, `validation.parquet` and `test.parquet` into `dir`.
pub fn write_census(census: &Census, dir: &Path) -> Result<CensusSummary, DataError> {
    let mut summary = Vec::new();
    for (name, chunk) in SPLITS.iter().zip(&census.splits) {
        let path = dir.join(format!("{name}.parquet"));
        let mut writer = ChunkWriter::create(&path, FileFormat::Parquet)?;
        writer.write(chunk)?;
        let rows = writer.finish()?;
        let ones = |label: &str| match chunk.iter().find(|(n, _)| n == label) {
            Some((_, Column::Int64(v))) => v.iter().filter(|x| **x == Some(1)).count() as u64,
            _ => 0,
        };
        summary.push((path, [rows, ones("income"), ones("never_married")]));
    }
    Ok(summary)
}

/// `feature_configs` bodies of the model inputs, with vocabularies and boundaries from the training split.
fn feature_bodies(train: &Chunk) -> Vec<(String, String)> {
    let mut features = Vec::new();
    for (name, column) in train {
        if NOT_INPUTS.contains(&name.as_str()) || !FIELDS.contains(&name.as_str()) {
            continue;
        }
        let expression = quote(&format!("user:{name}"));
        let body = match column {
            Column::Utf8(values) => {
                let vocab: BTreeSet<&str> = values.iter().flatten().collect();
                let vocab: Vec<String> = vocab.into_iter().map(quote).collect();
                format!(
                    "    id_feature {{\n        feature_name: {}\n        expression: {expression}\n        \
                     embedding_dim: 8\n        vocab_list: [{}]\n    }}",
                    quote(name),
                    vocab.join(", ")
                )
            }
            Column::Float64(values) => {
                let boundaries: Vec<String> = boundaries(values).iter().map(|b| b.to_string()).collect();
                format!(
                    "    raw_feature {{\n        feature_name: {}\n        expression: {expression}\n        \
                     embedding_dim: 8\n        boundaries: [{}]\n    }}",
                    quote(name),
                    boundaries.join(", ")
                )
            }
            Column::Int64(_) => continue,
        };
        features.push((name.clone(), body));
    }
    features
}

/// The smallest non-zero value and the deciles of the non-zero values, strictly increasing as f32.
fn boundaries(values: &[Option<f64>]) -> Vec<f32> {
    let mut nonzero: Vec<f64> = values.iter().flatten().copied().filter(|v| *v != 0.0).collect();
    nonzero.sort_by(f64::total_cmp);
    let Some(&smallest) = nonzero.first() else { return vec![0.5] };
    let mut out = vec![smallest as f32];
    for k in 1..QUANTILES {
        let b = nonzero[k * nonzero.len() / QUANTILES] as f32;
        if out.last().is_some_and(|last| b > *last) {
            out.push(b);
        }
    }
    out
}

/// The configs of `examples/census/`: `(file name, text)`.
pub fn census_configs(census: &Census) -> Vec<(&'static str, String)> {
    let task = |tower: &str, label: &str| TaskText {
        tower: tower.into(),
        label: label.into(),
        loss: "binary_cross_entropy {}".into(),
        metric: "auc {}".into(),
    };
    let text = |name: &str| ConfigText {
        header: vec![
            format!("UCI Census-Income (KDD), two tasks as in the MMoE and PLE papers ({name}). Data and this file:"),
            "`plec datagen census --input data/census-income.test.gz -o data/census`.".into(),
            "Vocabularies and boundaries come from the training split; education and marital_stat are not inputs."
                .into(),
        ],
        train_input: "data/census/train.parquet".into(),
        eval_input: "data/census/validation.parquet".into(),
        model_dir: format!("experiments/census_{name}"),
        batch_size: 512,
        num_epochs: 10,
        sparse_lr: 0.05,
        dense_lr: 0.001,
        features: feature_bodies(&census.splits[0]),
        tasks: vec![task("income", "income"), task("never_married", "never_married")],
        expert_hidden: vec![64],
        tower_hidden: vec![32],
        tower_norm: Norm::None,
    };
    vec![
        ("single_income.config", text("single_income").render(Architecture::SingleTask(0))),
        ("single_never_married.config", text("single_never_married").render(Architecture::SingleTask(1))),
        ("mmoe.config", text("mmoe").render(Architecture::Mmoe { experts: 6 })),
        ("cgc.config", text("cgc").render(Architecture::Cgc { per_task: 2, shared: 2 })),
        ("ple.config", text("ple").render(Architecture::Ple { layers: 2, per_task: 2, shared: 2 })),
        ("mmoe_model.config", text("mmoe_model").render(Architecture::MmoeModel { experts: 6 })),
        ("dbmtl.config", text("dbmtl").render(Architecture::Dbmtl { experts: 6, relation_hidden: 32 })),
    ]
}
