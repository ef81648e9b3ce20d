//! plec compiler
