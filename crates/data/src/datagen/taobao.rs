//! `plec datagen taobao`: click / buy data with the schema of `examples/ple_taobao.config`.
//!
//! Users and ads are drawn with a Zipf-like skew over each id's `num_buckets`; user profile fields are fixed
//! per user (about 4% of users have none), ad fields per ad (brand missing for about 15%), prices log-normal
//! per ad with about 10% exactly on one of the config's boundaries. Labels come from a hidden model of random
//! per-id effects, an age x category interaction, the position id and the price, through a logistic: `clk`
//! near 5%, `buy` only where `clk` (about 10% of clicks), sharing the user effect so the tasks are related
//! but not identical. Everything is a function of the seed.

use std::path::{Path, PathBuf};

use super::rng::{hash3, hash_normal, mix64, unit_f64, Rng, Scatter, Zipf};
use super::write::{write_in_chunks, Chunk, SplitOptions};
use crate::{Column, DataError};

/// `num_buckets` of the config's id features, user side then ad side.
pub const USER_ID_BUCKETS: u64 = 1_141_730;
pub const USER_PROFILE: [(&str, u64); 8] = [
    ("cms_segid", 98),
    ("cms_group_id", 14),
    ("final_gender_code", 3),
    ("age_level", 8),
    ("pvalue_level", 5),
    ("shopping_level", 5),
    ("occupation", 3),
    ("new_user_class_level", 6),
];
pub const ADGROUP_ID_BUCKETS: u64 = 846_812;
pub const AD_FIELDS: [(&str, u64); 4] =
    [("cate_id", 12_961), ("campaign_id", 423_438), ("customer", 255_877), ("brand", 461_498)];
/// The config's price boundaries; some prices fall exactly on them.
pub const PRICE_BOUNDARIES: [f64; 98] = [
    1.1, 2.2, 3.6, 5.2, 7.39, 9.5, 10.5, 12.9, 15.0, 17.37, 19.0, 20.0, 23.8, 25.8, 28.0, 29.8, 31.5, 34.0, 36.0, 38.0,
    39.0, 40.0, 45.0, 48.0, 49.0, 51.6, 55.2, 58.0, 59.0, 63.8, 68.0, 69.0, 72.0, 78.0, 79.0, 85.0, 88.0, 90.0, 97.5,
    98.0, 99.0, 100.0, 108.0, 115.0, 118.0, 124.0, 128.0, 129.0, 138.0, 139.0, 148.0, 155.0, 158.0, 164.0, 168.0,
    171.8, 179.0, 188.0, 195.0, 198.0, 199.0, 216.0, 228.0, 238.0, 248.0, 258.0, 268.0, 278.0, 288.0, 298.0, 299.0,
    316.0, 330.0, 352.0, 368.0, 388.0, 398.0, 399.0, 439.0, 478.0, 499.0, 536.0, 580.0, 599.0, 660.0, 699.0, 780.0,
    859.0, 970.0, 1080.0, 1280.0, 1480.0, 1776.0, 2188.0, 2798.0, 3680.0, 5160.0, 8720.0,
];
/// Position ids, the first far more common.
pub const PIDS: [&str; 2] = ["430548_1007", "430539_1007"];

/// Target rates of the hidden model.
pub const CLICK_RATE: f64 = 0.05;
pub const BUY_RATE_GIVEN_CLICK: f64 = 0.10;

/// Stream tags: each split draws from its own generator.
const TRAIN_STREAM: u64 = 1;
const EVAL_STREAM: u64 = 2;
const CALIBRATION_STREAM: u64 = 3;
const CALIBRATION_ROWS: usize = 20_000;
/// Rows generated and written at a time.
const CHUNK_ROWS: usize = 64 * 1024;

// Hash tags of per-id properties and effects.
const TAG_PROFILE: u64 = 100;
const TAG_NO_PROFILE: u64 = 1;
const TAG_AD_FIELD: u64 = 200;
const TAG_NO_BRAND: u64 = 2;
const TAG_PRICE: u64 = 3;
const TAG_ON_BOUNDARY: u64 = 4;
const TAG_USER_EFFECT: u64 = 10;
const TAG_AD_EFFECT: u64 = 11;
const TAG_CATE_EFFECT: u64 = 12;
const TAG_AGE_CATE_EFFECT: u64 = 13;
const TAG_SEGID_EFFECT: u64 = 14;
const TAG_BUY_AD_EFFECT: u64 = 20;
const TAG_BUY_SHOPPING_EFFECT: u64 = 21;
const TAG_BUY_CATE_EFFECT: u64 = 22;

/// One generated row before labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TaobaoRow {
    pub user_id: i64,
    /// In `USER_PROFILE` order; `None` for users without a profile.
    pub profile: [Option<i64>; 8],
    pub adgroup_id: i64,
    /// In `AD_FIELDS` order.
    pub ad: [Option<i64>; 4],
    pub price: f64,
    pub pid: usize,
}

/// The hidden model and the id samplers of one seed.
#[derive(Debug, Clone)]
pub struct TaobaoModel {
    seed: u64,
    users: (Zipf, Scatter),
    ads: (Zipf, Scatter),
    categories: (Zipf, Scatter),
    click_bias: f64,
    buy_bias: f64,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The `b` with `sum(w * sigmoid(l + b)) / sum(w) == target` (bisection; the mean is increasing in `b`).
fn calibrate(logits: &[(f64, f64)], target: f64) -> f64 {
    let total: f64 = logits.iter().map(|(_, w)| w).sum();
    let (mut lo, mut hi) = (-30.0, 30.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        let mean = logits.iter().map(|(l, w)| w * sigmoid(l + mid)).sum::<f64>() / total;
        if mean < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

impl TaobaoModel {
    pub fn new(seed: u64) -> TaobaoModel {
        let mut model = TaobaoModel {
            seed,
            users: (Zipf::new(USER_ID_BUCKETS, 1.05), Scatter::new(USER_ID_BUCKETS, seed ^ 0x75)),
            ads: (Zipf::new(ADGROUP_ID_BUCKETS, 1.1), Scatter::new(ADGROUP_ID_BUCKETS, seed ^ 0xad)),
            categories: (Zipf::new(AD_FIELDS[0].1, 1.2), Scatter::new(AD_FIELDS[0].1, seed ^ 0xca)),
            click_bias: 0.0,
            buy_bias: 0.0,
        };
        let mut rng = Rng::new(mix64(seed ^ CALIBRATION_STREAM));
        let rows: Vec<TaobaoRow> = (0..CALIBRATION_ROWS).map(|_| model.draw_row(&mut rng)).collect();
        let clicks: Vec<(f64, f64)> = rows.iter().map(|r| (model.click_logit(r), 1.0)).collect();
        model.click_bias = calibrate(&clicks, CLICK_RATE);
        // P(buy | click): each row weighted by its click probability.
        let buys: Vec<(f64, f64)> =
            rows.iter().map(|r| (model.buy_logit(r), sigmoid(model.click_logit(r) + model.click_bias))).collect();
        model.buy_bias = calibrate(&buys, BUY_RATE_GIVEN_CLICK);
        model
    }

    pub fn draw_row(&self, rng: &mut Rng) -> TaobaoRow {
        let seed = self.seed;
        let user = self.users.1.apply(self.users.0.rank(rng.uniform()));
        let has_profile = hash3(seed, TAG_NO_PROFILE, user) % 100 >= 4;
        let mut profile = [None; 8];
        for (k, (_, buckets)) in USER_PROFILE.iter().enumerate() {
            if has_profile {
                profile[k] = Some((hash3(seed, TAG_PROFILE + k as u64, user) % buckets) as i64);
            }
        }
        let ad = self.ads.1.apply(self.ads.0.rank(rng.uniform()));
        let category = self.categories.1.apply(self.categories.0.rank(unit_f64(hash3(seed, TAG_AD_FIELD, ad))));
        let mut fields = [Some(category as i64), None, None, None];
        for (k, (_, buckets)) in AD_FIELDS.iter().enumerate().skip(1) {
            fields[k] = Some((hash3(seed, TAG_AD_FIELD + k as u64, ad) % buckets) as i64);
        }
        if hash3(seed, TAG_NO_BRAND, ad) % 100 < 15 {
            fields[3] = None;
        }
        let price = if hash3(seed, TAG_ON_BOUNDARY, ad).is_multiple_of(10) {
            PRICE_BOUNDARIES[(hash3(seed, TAG_ON_BOUNDARY + 1, ad) % PRICE_BOUNDARIES.len() as u64) as usize]
        } else {
            let cents = (3.9 + 1.3 * hash_normal(seed, TAG_PRICE, ad)).exp() * 100.0;
            cents.round().max(1.0) / 100.0
        };
        let pid = usize::from(rng.uniform() >= 0.7);
        TaobaoRow { user_id: user as i64, profile, adgroup_id: ad as i64, ad: fields, price, pid }
    }

    /// Click logit before the calibrated bias.
    pub fn click_logit(&self, row: &TaobaoRow) -> f64 {
        let seed = self.seed;
        let category = row.ad[0].unwrap_or(0) as u64;
        let age = row.profile[3].map_or(99, |a| a as u64);
        let segid = row.profile[0].map_or(999, |s| s as u64);
        0.6 * hash_normal(seed, TAG_USER_EFFECT, row.user_id as u64)
            + 0.5 * hash_normal(seed, TAG_AD_EFFECT, row.adgroup_id as u64)
            + 0.4 * hash_normal(seed, TAG_CATE_EFFECT, category)
            + 0.4 * hash_normal(seed, TAG_AGE_CATE_EFFECT, age * 100_000 + category)
            + 0.3 * hash_normal(seed, TAG_SEGID_EFFECT, segid)
            + if row.pid == 0 { 0.2 } else { -0.2 }
            - 0.15 * (row.price.ln() - 3.9)
            - if row.profile[0].is_none() { 0.2 } else { 0.0 }
    }

    /// Buy-given-click logit before the calibrated bias; shares the user effect with clicks.
    pub fn buy_logit(&self, row: &TaobaoRow) -> f64 {
        let seed = self.seed;
        let category = row.ad[0].unwrap_or(0) as u64;
        let shopping = row.profile[5].map_or(99, |s| s as u64);
        0.5 * hash_normal(seed, TAG_USER_EFFECT, row.user_id as u64)
            + 0.6 * hash_normal(seed, TAG_BUY_AD_EFFECT, row.adgroup_id as u64)
            + 0.4 * hash_normal(seed, TAG_BUY_SHOPPING_EFFECT, shopping)
            + 0.3 * hash_normal(seed, TAG_BUY_CATE_EFFECT, category)
            - 0.5 * (row.price.ln() - 3.9)
    }

    /// (clk, buy) for a row, drawn from the hidden model.
    pub fn draw_labels(&self, row: &TaobaoRow, rng: &mut Rng) -> (bool, bool) {
        let click = rng.bernoulli(sigmoid(self.click_logit(row) + self.click_bias));
        let buy = click && rng.bernoulli(sigmoid(self.buy_logit(row) + self.buy_bias));
        (click, buy)
    }

    /// `rows` rows as columns, in the config's order, then `clk`, `buy`.
    pub fn chunk(&self, rng: &mut Rng, rows: usize) -> Chunk {
        let mut user_id = Vec::with_capacity(rows);
        let mut profile: Vec<Vec<Option<i64>>> = (0..8).map(|_| Vec::with_capacity(rows)).collect();
        let mut adgroup_id = Vec::with_capacity(rows);
        let mut ad: Vec<Vec<Option<i64>>> = (0..4).map(|_| Vec::with_capacity(rows)).collect();
        let mut price = Vec::with_capacity(rows);
        let mut pid = Vec::with_capacity(rows);
        let (mut clk, mut buy) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for _ in 0..rows {
            let row = self.draw_row(rng);
            let (click, bought) = self.draw_labels(&row, rng);
            user_id.push(Some(row.user_id));
            for (column, value) in profile.iter_mut().zip(row.profile) {
                column.push(value);
            }
            adgroup_id.push(Some(row.adgroup_id));
            for (column, value) in ad.iter_mut().zip(row.ad) {
                column.push(value);
            }
            price.push(Some(row.price));
            pid.push(Some(PIDS[row.pid]));
            clk.push(Some(i64::from(click)));
            buy.push(Some(i64::from(bought)));
        }
        let mut chunk: Chunk = vec![("user_id".into(), Column::Int64(user_id))];
        chunk.extend(USER_PROFILE.iter().zip(profile).map(|((name, _), v)| (name.to_string(), Column::Int64(v))));
        chunk.push(("adgroup_id".into(), Column::Int64(adgroup_id)));
        chunk.extend(AD_FIELDS.iter().zip(ad).map(|((name, _), v)| (name.to_string(), Column::Int64(v))));
        chunk.push(("price".into(), Column::Float64(price)));
        chunk.push(("pid".into(), Column::Utf8(pid.into_iter().collect())));
        chunk.push(("clk".into(), Column::Int64(clk)));
        chunk.push(("buy".into(), Column::Int64(buy)));
        chunk
    }
}

/// Rows, seed and format of the train and eval files.
pub type TaobaoOptions = SplitOptions;

/// What one written split holds.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitSummary {
    pub path: PathBuf,
    pub rows: u64,
    pub clicks: u64,
    pub buys: u64,
}

/// Writes `train.<ext>` (`rows`) and, unless `eval_rows` is 0, `eval.<ext>` into `dir`.
pub fn write_taobao(options: &TaobaoOptions, dir: &Path) -> Result<Vec<SplitSummary>, DataError> {
    let model = TaobaoModel::new(options.seed);
    let mut summaries = Vec::new();
    for (name, rows, stream) in [("train", options.rows, TRAIN_STREAM), ("eval", options.eval_rows, EVAL_STREAM)] {
        if rows == 0 && name == "eval" {
            continue;
        }
        let path = dir.join(format!("{name}.{}", options.format.extension()));
        let mut rng = Rng::new(mix64(options.seed ^ stream));
        let (mut clicks, mut buys) = (0, 0);
        let count = |chunk: &Chunk| {
            clicks += count_ones(chunk, "clk");
            buys += count_ones(chunk, "buy");
        };
        let rows = write_in_chunks(&path, options.format, rows, CHUNK_ROWS, |size| model.chunk(&mut rng, size), count)?;
        summaries.push(SplitSummary { path, rows, clicks, buys });
    }
    Ok(summaries)
}

fn count_ones(chunk: &Chunk, name: &str) -> u64 {
    chunk.iter().find(|(n, _)| n == name).map_or(0, |(_, column)| match column {
        Column::Int64(values) => values.iter().filter(|v| **v == Some(1)).count() as u64,
        _ => 0,
    })
}
