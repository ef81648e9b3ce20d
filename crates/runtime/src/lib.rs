//! plec runtime
