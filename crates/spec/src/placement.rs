//! Where each feature's embedding table goes: the one rule the config reader (plec-config) and the test builder
//! ([`crate::testing`]) share. Tables are listed in order of first use; a later feature naming the same table in
//! the same collection reads that table too, must agree on its shape, and is listed once however often it claims it
//! (a query feature in two sequence groups reads its table once per group).

use std::fmt;

use crate::{EmbeddingTable, TableCollection};

/// A feature that names an existing table with another shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableConflict {
    pub feature: String,
    pub table: String,
    pub rows: u64,
    pub dim: usize,
    /// The feature that created the table, and the table's shape.
    pub owner: String,
    pub existing_rows: u64,
    pub existing_dim: usize,
}

impl fmt::Display for TableConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "feature `{}` shares table `{}` with `{}` but needs {} rows of {}, not {} rows of {}",
            self.feature, self.table, self.owner, self.rows, self.dim, self.existing_rows, self.existing_dim
        )
    }
}

/// The tables of both collections as features claim them, with the first feature of each (for conflicts).
#[derive(Debug, Default)]
pub struct Tables {
    tables: Vec<EmbeddingTable>,
    owners: Vec<String>,
}

/// What a feature asks for: table `name` in `collection`, `rows x dim`.
#[derive(Debug, Clone, Copy)]
pub struct TableClaim<'a> {
    pub collection: TableCollection,
    pub name: &'a str,
    pub rows: u64,
    pub dim: usize,
}

impl Tables {
    /// The index of the claimed table, created on first use; a later user must agree on its shape.
    pub fn claim(&mut self, claim: TableClaim<'_>, feature: &str) -> Result<usize, TableConflict> {
        let TableClaim { collection, name, rows, dim } = claim;
        let Some(index) = self.tables.iter().position(|t| t.name == name && t.collection == collection) else {
            self.tables.push(EmbeddingTable {
                name: name.to_string(),
                rows,
                dim,
                features: vec![feature.to_string()],
                collection,
            });
            self.owners.push(feature.to_string());
            return Ok(self.tables.len() - 1);
        };
        let existing = &mut self.tables[index];
        if existing.dim != dim || existing.rows != rows {
            return Err(TableConflict {
                feature: feature.to_string(),
                table: name.to_string(),
                rows,
                dim,
                owner: self.owners[index].clone(),
                existing_rows: existing.rows,
                existing_dim: existing.dim,
            });
        }
        if !existing.features.iter().any(|f| f == feature) {
            existing.features.push(feature.to_string());
        }
        Ok(index)
    }

    pub fn tables(&self) -> &[EmbeddingTable] {
        &self.tables
    }

    pub fn into_tables(self) -> Vec<EmbeddingTable> {
        self.tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(name: &str, rows: u64, dim: usize) -> TableClaim<'_> {
        TableClaim { collection: TableCollection::Bag, name, rows, dim }
    }

    #[test]
    fn a_shared_table_is_created_once_and_lists_each_feature_once() {
        let mut tables = Tables::default();
        assert_eq!(tables.claim(bag("t", 10, 4), "a"), Ok(0));
        assert_eq!(tables.claim(bag("u", 3, 2), "b"), Ok(1));
        assert_eq!(tables.claim(bag("t", 10, 4), "c"), Ok(0));
        assert_eq!(tables.claim(bag("t", 10, 4), "c"), Ok(0));
        let seq = TableClaim { collection: TableCollection::Sequence, name: "t", rows: 10, dim: 4 };
        assert_eq!(tables.claim(seq, "a"), Ok(2), "the sequence collection has tables of its own");
        let listed: Vec<_> = tables.tables().iter().map(|t| (t.name.as_str(), t.features.join(","))).collect();
        assert_eq!(listed, [("t", "a,c".to_string()), ("u", "b".to_string()), ("t", "a".to_string())]);
    }

    #[test]
    fn a_table_claimed_with_another_shape_names_both_features() {
        let mut tables = Tables::default();
        tables.claim(bag("t", 10, 4), "a").unwrap();
        let conflict = tables.claim(bag("t", 10, 8), "b").unwrap_err();
        assert_eq!(
            conflict.to_string(),
            "feature `b` shares table `t` with `a` but needs 10 rows of 8, not 10 rows of 4"
        );
        assert_eq!(tables.tables()[0].features, ["a"]);
    }
}
