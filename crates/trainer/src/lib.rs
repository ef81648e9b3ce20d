//! plec trainer
